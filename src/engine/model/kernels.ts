/**
 * Fused kernels for the wasm and cpu backends: layer norm, exact GELU and multi-head attention,
 * each with its backward pass, as single kernels (attention blocked into register tiles,
 * FEDLORA_ATTENTION), the LoRA branch, Adam, and a packed SGEMM (the
 * frozen projections' products on wasm where it beats XNNPACK, ops.ts `ownGemmPays`). The arithmetic is WebAssembly SIMD compiled from
 * native/kernels.c (scripts/build-kernels.sh; the module is embedded in native/kernels-wasm.ts).
 *
 * Why hand-written: tfjs has no fused layer norm, GELU or attention for these backends, so the
 * composite ops run 5-40 small kernels each (plus as many in the backward pass), and on a model
 * this size kernel launches, transposes into and out of the per-head layout, and extra passes over
 * memory cost more than the arithmetic (profile in docs/performance.md). Plain TypeScript loops
 * were tried first and were 2-4x slower than the composite ops (no SIMD, slow Math.exp). The
 * tensorflow backends (tfjs-node, tfjs-node-gpu) keep the composite ops: their kernels are native.
 *
 * On the wasm backend the module imports tfjs's own memory and works on the tensors in place; on
 * the cpu backend it has a memory of its own and the arrays are copied through it. Results depend
 * only on the inputs and sizes, never on the machine or the backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64 } from './native/kernels-wasm';

export const LAYER_NORM = 'FedloraLayerNorm';
export const LAYER_NORM_GRAD = 'FedloraLayerNormGrad';
export const GELU = 'FedloraGelu';
export const GELU_GRAD = 'FedloraGeluGrad';
export const ATTENTION = 'FedloraAttention';
export const ATTENTION_GRAD = 'FedloraAttentionGrad';
export const ADAM = 'FedloraAdam';
export const LORA = 'FedloraLora';
export const LORA_GRAD = 'FedloraLoraGrad';
export const MATMUL = 'FedloraMatMul';

/** The parts of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory { buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface NativeExports {
  gelu_fwd(x: number, y: number, phi: number, n: number): void;
  gelu_bwd(dy: number, x: number, phi: number, dx: number, n: number): void;
  layer_norm_fwd(x: number, g: number, b: number, y: number, mean: number, rstd: number, N: number, D: number, eps: number): void;
  layer_norm_bwd(dy: number, x: number, g: number, mean: number, rstd: number, dx: number, dg: number, db: number, N: number, D: number): void;
  attn_fwd(q: number, k: number, v: number, mask: number, o: number, p: number, B: number, Tq: number, T: number, H: number, hd: number, scale: number): void;
  lora_fwd(y0: number, x: number, A: number, B: number, out: number, u: number, scratch: number, N: number, din: number, r: number, dout: number, s: number): void;
  lora_bwd(dy: number, x: number, A: number, B: number, u: number, dx: number, dA: number, dB: number, scratch: number, N: number, din: number, r: number, dout: number, s: number): void;
  adam_step(w: number, g: number, m: number, v: number, w1: number, m1: number, v1: number, n: number, b1: number, c1: number, b2: number, c2: number, eps: number, step: number): void;
  attn_bwd(dO: number, q: number, k: number, v: number, p: number, dq: number, dk: number, dv: number, dps: number, B: number, Tq: number, T: number, H: number, hd: number, scale: number): void;
  attn_fwd_rowwise(q: number, k: number, v: number, mask: number, o: number, p: number, B: number, Tq: number, T: number, H: number, hd: number, scale: number): void;
  attn_bwd_rowwise(dO: number, q: number, k: number, v: number, p: number, dq: number, dk: number, dv: number, dps: number, B: number, Tq: number, T: number, H: number, hd: number, scale: number): void;
  sgemm(a: number, b: number, bias: number, c: number, scratch: number, M: number, N: number, K: number, transA: number, transB: number): void;
  gemm_scratch_floats(M: number, N: number, K: number): number;
}

/** A compiled kernels module and its instances (one per memory), with an optional wrapper of each instance's exports. */
interface Loaded { module: object; instances: WeakMap<WasmMemory, NativeExports>; wrap?: (exports: NativeExports) => NativeExports }
let embedded: Loaded | null = null;
/** The module the kernels run on: the embedded one, unless a benchmark swapped another in. */
let current: Loaded | null = null;

/** The kernels instantiated on `memory` (compiled once per thread, one instance per memory). */
function kernelsOn(memory: WasmMemory): NativeExports {
  current ??= embedded ??= { module: new WA.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')), instances: new WeakMap() };
  let k = current.instances.get(memory);
  if (!k) {
    k = new WA.Instance(current.module, { env: { memory } }).exports as NativeExports;
    if (current.wrap) k = current.wrap(k);
    current.instances.set(memory, k);
  }
  return k;
}

/** The exports the kernels here call (the rowwise attention only under FEDLORA_ATTENTION=rowwise). */
const REQUIRED_EXPORTS = ['gelu_fwd', 'gelu_bwd', 'layer_norm_fwd', 'layer_norm_bwd', 'attn_fwd', 'attn_bwd', 'lora_fwd', 'lora_bwd', 'adam_step', 'sgemm'];

/** A compiled build of native/kernels.c (compileKernelsModule). */
export type KernelsModule = Loaded;

/**
 * For benchmarks only (`npm run bench -- step --ab-kernels REV` / `--kernel-times`): compile a
 * build of native/kernels.c (the bytes of its .wasm; by default the embedded one), to run the
 * kernels on with useKernelsModule. It must have the exports called here, with the same arguments
 * (scratch sizes are this version's). `wrap` may replace each instance's exports (to time them).
 */
export function compileKernelsModule(bytes: Uint8Array = Buffer.from(KERNELS_WASM_BASE64, 'base64'), wrap?: (exports: Record<string, (...a: number[]) => number>) => Record<string, (...a: number[]) => number>): KernelsModule {
  const module = new WA.Module(bytes);
  const names = (WA.Module as unknown as { exports(m: object): { name: string }[] }).exports(module).map((e) => e.name);
  const missing = REQUIRED_EXPORTS.filter((n) => !names.includes(n));
  if (missing.length) throw new Error(`kernels module: lacks ${missing.join(', ')} (too old for this version's kernels.ts)`);
  return { module, instances: new WeakMap(), wrap: wrap as Loaded['wrap'] };
}

/** Run the kernels on `m` from now on, or on the embedded module again (null). */
export function useKernelsModule(m: KernelsModule | null): void {
  current = m;
}

/**
 * A kernel body: called with the kernels and the byte offsets of its inputs, then its outputs,
 * then `scratch` floats of scratch space, all in the kernels' memory.
 */
type Body = (k: NativeExports, ptrs: number[]) => void;

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(id: object): { memoryOffset: number } };
  wasm: { asm: { memory: WasmMemory }; _malloc(n: number): number; _free(p: number): void };
}
interface CpuLike { data: { get(id: object): { values: unknown } }; makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo }

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The cpu backend's kernels have a memory of their own; inputs are copied in, outputs out. */
let cpuMemory: WasmMemory | null = null;

/**
 * Run `body`: on the wasm backend in place on tfjs's heap (the kernels import that memory); on
 * the cpu backend by copying the arrays through the kernels' own memory.
 */
function runOn(backendName: string, backend: unknown, inputs: tf.TensorInfo[], outShapes: number[][], scratch: number, body: Body): tf.TensorInfo[] {
  for (const t of inputs) if (t.dtype !== 'float32') throw new Error(`fused kernel: expected float32 input, got ${t.dtype}`);
  if (backendName === 'wasm') {
    const b = backend as WasmBackendLike;
    const outs = outShapes.map((s) => b.makeOutput(s, 'float32'));
    const tmp = scratch > 0 ? b.wasm._malloc(4 * scratch) : 0;
    const ptrs = [...inputs, ...outs].map((t) => b.dataIdMap.get(t.dataId).memoryOffset);
    try { body(kernelsOn(b.wasm.asm.memory), [...ptrs, tmp]); } finally { if (tmp) b.wasm._free(tmp); }
    return outs;
  }
  const b = backend as CpuLike;
  const arrays = inputs.map((t) => b.data.get(t.dataId).values as Float32Array);
  const outArrays = outShapes.map((s) => new Float32Array(size(s)));
  const align = (n: number) => (n + 15) & ~15;
  const ptrs: number[] = [];
  let top = 16; // offset 0 stays free: it is the null pointer (no mask)
  for (const n of [...arrays.map((a) => a.length), ...outArrays.map((a) => a.length), scratch]) { ptrs.push(top); top = align(top + 4 * n); }
  cpuMemory ??= new WA.Memory({ initial: 2 }); // the module asks for at least 2 pages
  const have = cpuMemory.buffer.byteLength;
  if (top > have) cpuMemory.grow(Math.ceil((top - have) / 65536));
  const heap = new Float32Array(cpuMemory.buffer);
  arrays.forEach((a, i) => heap.set(a, ptrs[i] / 4));
  body(kernelsOn(cpuMemory), ptrs);
  outArrays.forEach((a, i) => { const p = ptrs[arrays.length + i] / 4; a.set(heap.subarray(p, p + a.length)); });
  return outShapes.map((s, i) => b.makeTensorInfo(s, 'float32', outArrays[i]));
}

/** Attention sizes: Tq query rows and T key rows per sample. */
export interface AttnAttrs { batch: number; Tq: number; T: number; heads: number; scale: number }

/** Throws, naming the kernel, unless q, k, v (and the mask) fit the attention attributes (also the webgpu kernels' check). */
export function checkAttention(kernel: string, a: AttnAttrs, q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, mask?: tf.TensorInfo): void {
  const d = q.shape[1];
  expectShapes(kernel, q.shape.length === 2 && k.shape.length === 2 && Number.isInteger(a.heads) && a.heads > 0 && d % a.heads === 0
    && q.shape[0] === a.batch * a.Tq && k.shape[0] === a.batch * a.T && k.shape[1] === d && v.shape.join() === k.shape.join()
    && (!mask || size(mask.shape) === a.batch * a.T), () => `${dims([q, k, v, ...(mask ? [mask] : [])])} for batch ${a.batch}, ${a.Tq} query and ${a.T} key rows, ${a.heads} heads`);
}

/** Throws, naming the kernel, unless y0, x and the factors a, b of a LoRA branch fit together (also the webgpu kernels' check). */
export function checkLora(kernel: string, y0: tf.TensorInfo, x: tf.TensorInfo, a: tf.TensorInfo, b: tf.TensorInfo): void {
  expectShapes(kernel, [y0, x, a, b].every((t) => t.shape.length === 2) && y0.shape[0] === x.shape[0] && a.shape[0] === x.shape[1]
    && b.shape[0] === a.shape[1] && y0.shape[1] === b.shape[1], () => dims([y0, x, a, b]));
}

// ---------------------------------------------------------------------------------------------

/** The backends the fused kernels are registered for. */
export const FUSED_BACKENDS = ['wasm', 'cpu'] as const;

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * The kernels index raw memory (on wasm, tfjs's own heap): inconsistent shapes would read or write
 * past a tensor, so every kernel checks them first and throws naming the kernel.
 */
function expectShapes(kernel: string, ok: boolean, what: () => string): void {
  if (!ok) throw new Error(`${kernel}: inconsistent input shapes (${what()})`);
}
const dims = (ts: tf.TensorInfo[]) => ts.map((t) => `[${t.shape}]`).join(', ');
const infos = (args: KernelArgs, names: string[]) => names.filter((n) => args.inputs[n]).map((n) => args.inputs[n] as tf.TensorInfo);

/** Register the fused kernels (idempotent) for `backendName` (wasm or cpu). */
export function registerFusedKernels(backendName: (typeof FUSED_BACKENDS)[number]): void {
  const reg = (kernelName: string, f: (args: KernelArgs) => tf.TensorInfo[]) => {
    if (tf.getKernel(kernelName, backendName)) return;
    tf.registerKernel({ kernelName, backendName, kernelFunc: f as unknown as tf.KernelFunc });
  };
  reg(LAYER_NORM, (args) => {
    const [x, g, beta] = infos(args, ['x', 'gain', 'bias']);
    const D = x.shape[x.shape.length - 1], N = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    expectShapes(LAYER_NORM, size(g.shape) === D && size(beta.shape) === D, () => dims([x, g, beta]));
    const eps = (args.attrs as { eps: number }).eps;
    return runOn(backendName, args.backend, [x, g, beta], [x.shape, [N], [N]], 0, (k, [xp, gp, bp, y, m, r]) => k.layer_norm_fwd(xp, gp, bp, y, m, r, N, D, eps));
  });
  reg(LAYER_NORM_GRAD, (args) => {
    const ins = infos(args, ['dy', 'x', 'gain', 'mean', 'rstd']);
    const x = ins[1], D = x.shape[x.shape.length - 1], N = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    expectShapes(LAYER_NORM_GRAD, ins.length === 5 && size(ins[0].shape) === N * D && size(ins[2].shape) === D && size(ins[3].shape) === N && size(ins[4].shape) === N, () => dims(ins));
    return runOn(backendName, args.backend, ins, [x.shape, [D], [D]], 0, (k, [dy, xx, g, m, r, dx, dg, db]) => k.layer_norm_bwd(dy, xx, g, m, r, dx, dg, db, N, D));
  });
  reg(GELU, (args) => {
    const ins = infos(args, ['x']);
    return runOn(backendName, args.backend, ins, [ins[0].shape, ins[0].shape], 0, (k, [x, y, phi]) => k.gelu_fwd(x, y, phi, size(ins[0].shape)));
  });
  reg(GELU_GRAD, (args) => {
    const ins = infos(args, ['dy', 'x', 'phi']);
    expectShapes(GELU_GRAD, ins.length === 3 && ins.every((t) => size(t.shape) === size(ins[1].shape)), () => dims(ins));
    return runOn(backendName, args.backend, ins, [ins[1].shape], 0, (k, [dy, x, phi, dx]) => k.gelu_bwd(dy, x, phi, dx, size(ins[1].shape)));
  });
  reg(ATTENTION, (args) => {
    const ins = infos(args, ['q', 'k', 'v', 'mask']);
    const a = args.attrs as unknown as AttnAttrs;
    const hd = ins[0].shape[1] / a.heads;
    checkAttention(ATTENTION, a, ins[0], ins[1], ins[2], ins[3]);
    const blocked = attentionMode() === 'blocked';
    return runOn(backendName, args.backend, ins, [ins[0].shape, [a.batch, a.heads, a.Tq, a.T]], 0, (k, p) => {
      const [q, kk, v] = p, mask = ins.length === 4 ? p[3] : 0, [out, probs] = p.slice(ins.length);
      (blocked ? k.attn_fwd : k.attn_fwd_rowwise)(q, kk, v, mask, out, probs, a.batch, a.Tq, a.T, a.heads, hd, a.scale);
    });
  });
  reg(ATTENTION_GRAD, (args) => {
    const ins = infos(args, ['dy', 'q', 'k', 'v', 'p']);
    const a = args.attrs as unknown as AttnAttrs;
    const hd = ins[1].shape[1] / a.heads;
    checkAttention(ATTENTION_GRAD, a, ins[1], ins[2], ins[3]);
    expectShapes(ATTENTION_GRAD, size(ins[0].shape) === size(ins[1].shape) && size(ins[4].shape) === a.batch * a.heads * a.Tq * a.T, () => dims(ins));
    // scratch: dS of one sample and head (blocked), one row of it (rowwise)
    const blocked = attentionMode() === 'blocked';
    return runOn(backendName, args.backend, ins, [ins[1].shape, ins[2].shape, ins[3].shape], blocked ? a.Tq * a.T : a.T, (k, [dy, q, kk, v, p, dq, dk, dv, dps]) =>
      (blocked ? k.attn_bwd : k.attn_bwd_rowwise)(dy, q, kk, v, p, dq, dk, dv, dps, a.batch, a.Tq, a.T, a.heads, hd, a.scale));
  });
  reg(LORA, (args) => {
    const ins = infos(args, ['y0', 'x', 'a', 'b']);
    const [N, din] = ins[1].shape, [, r] = ins[2].shape, [, dout] = ins[3].shape, scale = (args.attrs as { scale: number }).scale;
    checkLora(LORA, ins[0], ins[1], ins[2], ins[3]);
    return runOn(backendName, args.backend, ins, [[N, dout], [N, r]], r * din + r, (k, [y0, x, a, b, out, u, tmp]) => k.lora_fwd(y0, x, a, b, out, u, tmp, N, din, r, dout, scale));
  });
  reg(LORA_GRAD, (args) => {
    const ins = infos(args, ['dy', 'x', 'a', 'b', 'u']);
    const [N, din] = ins[1].shape, [, r] = ins[2].shape, [, dout] = ins[3].shape, scale = (args.attrs as { scale: number }).scale;
    checkLora(LORA_GRAD, ins[0], ins[1], ins[2], ins[3]);
    expectShapes(LORA_GRAD, ins.length === 5 && size(ins[4].shape) === N * r, () => dims(ins));
    return runOn(backendName, args.backend, ins, [[N, din], [din, r], [r, dout]], r * din + r * dout + 2 * N * r, (k, [dy, x, a, b, u, dx, da, db, tmp]) =>
      k.lora_bwd(dy, x, a, b, u, dx, da, db, tmp, N, din, r, dout, scale));
  });
  reg(MATMUL, (args) => {
    const ins = infos(args, ['a', 'b', 'bias']);
    const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
    const [a, b, bias] = ins;
    expectShapes(MATMUL, a.shape.length === 2 && b.shape.length === 2, () => dims(ins));
    const M = transposeA ? a.shape[1] : a.shape[0], K = transposeA ? a.shape[0] : a.shape[1];
    const N = transposeB ? b.shape[0] : b.shape[1], Kb = transposeB ? b.shape[1] : b.shape[0];
    expectShapes(MATMUL, K === Kb && (!bias || size(bias.shape) === N), () => `${dims(ins)}, transposeA ${transposeA}, transposeB ${transposeB}`);
    return runOn(backendName, args.backend, ins, [[M, N]], gemmScratchFloats(N, K), (k, p) => {
      const [ap, bp] = p, bb = bias ? p[2] : 0, [c, tmp] = p.slice(ins.length);
      k.sgemm(ap, bp, bb, c, tmp, M, N, K, transposeA ? 1 : 0, transposeB ? 1 : 0);
    });
  });
  reg(ADAM, (args) => {
    const ins = infos(args, ['w', 'g', 'm', 'v']);
    const a = args.attrs as unknown as AdamAttrs, s = ins[0].shape;
    expectShapes(ADAM, ins.length === 4 && ins.every((t) => size(t.shape) === size(s)), () => dims(ins));
    return runOn(backendName, args.backend, ins, [s, s, s], 0, (k, [w, g, m, v, w1, m1, v1]) =>
      k.adam_step(w, g, m, v, w1, m1, v1, size(s), a.b1, a.c1, a.b2, a.c2, a.eps, a.step));
  });
}

/** The GEMM's packing constants (native/kernels.c GEMM_MR, GEMM_NR, GEMM_KC). */
const GEMM_MR = 4, GEMM_NR = 8, GEMM_KC = 768;

/** Scratch floats the GEMM needs for N columns and depth K: the packed B block, one packed A panel, one edge tile, the padded bias (as gemm_scratch_floats in kernels.c). */
export function gemmScratchFloats(N: number, K: number): number {
  const kc = Math.min(K, GEMM_KC), n8 = Math.ceil(N / GEMM_NR) * GEMM_NR;
  return kc * n8 + kc * GEMM_MR + GEMM_MR * GEMM_NR + n8;
}

/** The exported gemm_scratch_floats of the module (for the test that the two agree). */
export function nativeGemmScratchFloats(M: number, N: number, K: number): number {
  cpuMemory ??= new WA.Memory({ initial: 2 });
  return kernelsOn(cpuMemory).gemm_scratch_floats(M, N, K);
}

/** Attributes of the GEMM kernel: whether the first / second input is stored transposed. */
export interface MatMulAttrs { transposeA: boolean; transposeB: boolean }

/** Attributes of the Adam kernel: betas, 1 - betas, epsilon and the bias-corrected step size. */
export interface AdamAttrs { b1: number; c1: number; b2: number; c2: number; eps: number; step: number }

/**
 * Which GEMM the engine's frozen projections use on wasm and cpu: `fedlora`, the packed SGEMM of
 * native/kernels.c (WebAssembly SIMD, separate multiply and add: the same bits on every machine),
 * for the shapes where it beats tfjs's matMul (ops.ts `ownGemmPays`), tfjs elsewhere; or `tfjs`
 * everywhere, with the environment variable FEDLORA_GEMM=tfjs (the comparison the step bench makes).
 */
export type GemmMode = 'fedlora' | 'tfjs';

export function gemmMode(): GemmMode {
  return envChoice('FEDLORA_GEMM', ['fedlora', 'tfjs']);
}

/**
 * Which attention kernels run on wasm and cpu: `blocked` (the default: scores 2 x 4 at a time, the
 * products as 4 x 8 register tiles, SIMD over the head dimension) or `rowwise` (one query row and
 * one key at a time, the first version), with FEDLORA_ATTENTION=rowwise. Both give the same bits
 * (kernels.test.ts); the switch is for before/after timings (`npm run bench -- step --ab-attention`).
 * Read on every call, so a process can alternate.
 */
export type AttentionMode = 'blocked' | 'rowwise';

export function attentionMode(): AttentionMode {
  return envChoice('FEDLORA_ATTENTION', ['blocked', 'rowwise']);
}

/** An environment switch: unset or empty gives the first choice (the default); a value not listed is an error naming the variable. */
export function envChoice<T extends string>(name: string, choices: readonly [T, ...T[]]): T {
  const v = process.env[name];
  if (v === undefined || v === '') return choices[0];
  if ((choices as readonly string[]).includes(v)) return v as T;
  throw new Error(`${name}: must be ${choices.map((c, i) => `"${c}"${i === 0 ? ' (the default)' : ''}`).join(' or ')}, got "${v}"`);
}

/** Whether the current backend has the fused kernels. */
export function hasFusedKernels(): boolean {
  return tf.getKernel(GELU, tf.getBackend()) !== undefined;
}

/** Whether the current backend has the fused kernel `name` (webgpu has some of them: webgpuKernels.ts). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

for (const b of FUSED_BACKENDS) registerFusedKernels(b);
