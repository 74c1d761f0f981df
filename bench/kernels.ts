/**
 * `npm run bench -- kernels [--model base|d128|vit-tiny] [--spec JSON] [--baseline REV] [--rounds N] [--json]`:
 * the engine's fused wasm kernels (native/kernels.c: GELU, attention, the LoRA branch, layer norm,
 * forward and backward) on the shapes of one training step of the model (batch 32, LoRA r=8 on q
 * and v, the CLS-only last block), called straight on the WebAssembly module, without tfjs. With
 * `--baseline REV` the module committed at git revision REV (its kernels-wasm.ts) runs the same
 * calls on the same inputs in the same process, alternating with this tree's module (A B B A ...,
 * so that a change in the machine's load hits both), and the outputs are compared bit for bit.
 * Median CPU time of the rounds; the per-step total is each shape's time times its count.
 */
import { execFileSync } from 'node:child_process';
import { KERNELS_WASM_BASE64 } from '../src/engine/model/native/kernels-wasm';
import type { VitSpec } from '../src/engine/model/types';
import { numPatches } from '../src/engine/model/vit';
import { Rng } from '../src/engine/rng';
import { stepShape } from './step';
import { median } from './median';

/** One kernel call of a training step: the export, its arguments' sizes, how often a step makes it. */
export interface KernelCall {
  what: string;
  count: number;
  /** Floats of each buffer, inputs first, then outputs, then scratch. */
  inputs: number[]; outputs: number[]; scratch: number;
  /** The call, given the module's exports and the buffers' byte offsets (inputs, outputs, scratch). */
  call: (k: Record<string, (...a: number[]) => void>, p: number[]) => void;
}

/** The fused kernel calls of one step of `spec` at `batch` (LoRA rank `r` on q and v), with their counts. */
export function stepKernelCalls(spec: VitSpec, batch = 32, r = 8): KernelCall[] {
  const T = numPatches(spec) + 1, d = spec.dim, m = spec.mlpDim, H = spec.heads, hd = d / H, R = batch * T, full = spec.depth - 1;
  const scale = 1 / Math.sqrt(hd), s = 2;
  const ln = (N: number, count: number, backCount: number): KernelCall[] => [
    { what: `layer norm forward [${N}, ${d}]`, count, inputs: [N * d, d, d], outputs: [N * d, N, N], scratch: 0, call: (k, [x, g, b, y, mu, rs]) => k.layer_norm_fwd(x, g, b, y, mu, rs, N, d, 1e-5) },
    { what: `layer norm backward [${N}, ${d}]`, count: backCount, inputs: [N * d, N * d, d, N, N], outputs: [N * d, d, d], scratch: 0, call: (k, [dy, x, g, mu, rs, dx, dg, db]) => k.layer_norm_bwd(dy, x, g, mu, rs, dx, dg, db, N, d) },
  ];
  const attn = (Tq: number, count: number): KernelCall[] => [
    { what: `attention forward ${batch}x${H} heads, ${Tq}x${T} scores, head ${hd}`, count, inputs: [batch * Tq * d, R * d, R * d], outputs: [batch * Tq * d, batch * H * Tq * T], scratch: 0,
      call: (k, [q, kk, v, o, p]) => k.attn_fwd(q, kk, v, 0, o, p, batch, Tq, T, H, hd, scale) },
    // p: softmax rows (positive, summing to 1 per row), as the forward pass leaves them
    { what: `attention backward ${batch}x${H} heads, ${Tq}x${T} scores, head ${hd}`, count, inputs: [batch * Tq * d, batch * Tq * d, R * d, R * d, batch * H * Tq * T], outputs: [batch * Tq * d, R * d, R * d], scratch: Tq * T,
      call: (k, [dO, q, kk, v, p, dq, dk, dv, ds]) => k.attn_bwd(dO, q, kk, v, p, dq, dk, dv, ds, batch, Tq, T, H, hd, scale) },
  ];
  const lora = (N: number, count: number): KernelCall[] => [
    { what: `LoRA forward [${N}, ${d}] r=${r}`, count, inputs: [N * d, N * d, d * r, r * d], outputs: [N * d, N * r], scratch: r * d + r,
      call: (k, [y0, x, a, b, out, u, tmp]) => k.lora_fwd(y0, x, a, b, out, u, tmp, N, d, r, d, s) },
    { what: `LoRA backward [${N}, ${d}] r=${r}`, count, inputs: [N * d, N * d, d * r, r * d, N * r], outputs: [N * d, d * r, r * d], scratch: 2 * r * d + 2 * N * r,
      call: (k, [dy, x, a, b, u, dx, da, db, tmp]) => k.lora_bwd(dy, x, a, b, u, dx, da, db, tmp, N, d, r, d, s) },
  ];
  const gelu = (N: number, count: number): KernelCall[] => [
    { what: `GELU forward ${N}x${m}`, count, inputs: [N * m], outputs: [N * m, N * m], scratch: 0, call: (k, [x, y, phi]) => k.gelu_fwd(x, y, phi, N * m) },
    { what: `GELU backward ${N}x${m}`, count, inputs: [N * m, N * m, N * m], outputs: [N * m], scratch: 0, call: (k, [dy, x, phi, dx]) => k.gelu_bwd(dy, x, phi, dx, N * m) },
  ];
  // the last block runs its query, MLP and second norm on the CLS rows only (v and its LoRA branch
  // on every row, q's on the CLS rows); block 0 needs no gradient of its first norm's input
  return [
    ...gelu(R, full), ...gelu(batch, 1),
    ...attn(T, full), ...attn(1, 1),
    ...lora(R, 2 * full + 1), ...lora(batch, 1),
    ...ln(R, 2 * full + 1, 2 * full), ...ln(batch, 2, 2), // the CLS rows: the last block's second norm and the final norm
  ];
}

/** The kernels module committed at git revision `rev` (its embedded base64), or this tree's. */
export function kernelsModuleBytes(rev?: string): Uint8Array {
  if (!rev) return Buffer.from(KERNELS_WASM_BASE64, 'base64');
  let src: string;
  try {
    src = execFileSync('git', ['show', `${rev}:src/engine/model/native/kernels-wasm.ts`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`--baseline: no kernels module at git revision "${rev}" (${(e as Error).message.split('\n')[0]}); give a commit of this repository that has src/engine/model/native/kernels-wasm.ts`);
  }
  const m = /KERNELS_WASM_BASE64 =\s*"([A-Za-z0-9+/=]+)"/.exec(src);
  if (!m) throw new Error(`--baseline: ${rev}:src/engine/model/native/kernels-wasm.ts holds no KERNELS_WASM_BASE64`);
  return Buffer.from(m[1], 'base64');
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, (...a: number[]) => void> };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface KernelRow { what: string; count: number; ms: number; baselineMs: number | null; sameBits: boolean | null }


export async function benchKernels(opts: { model?: string; spec?: string; baseline?: string; rounds?: number; json?: boolean } = {}): Promise<KernelRow[]> {
  const rounds = opts.rounds ?? 15;
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error('--rounds must be an integer >= 1');
  const chosen = stepShape(opts.model, opts.spec), spec = chosen.spec;
  const calls = stepKernelCalls(spec);
  const biggest = Math.max(...calls.map((c) => [...c.inputs, ...c.outputs, c.scratch].reduce((a, b) => a + 16 + b, 64)));
  const memory = new WA.Memory({ initial: Math.max(2, Math.ceil((4 * biggest + 65536) / 65536)) });
  const mods = [kernelsModuleBytes(), ...(opts.baseline ? [kernelsModuleBytes(opts.baseline)] : [])].map((b) => new WA.Instance(new WA.Module(b), { env: { memory } }).exports);
  const rng = new Rng('bench-kernels');
  const rows: KernelRow[] = [];
  for (const c of calls) {
    // buffers laid out from 64 (offset 0 is the null pointer), 64-byte aligned
    const ptrs: number[] = [];
    let top = 64;
    for (const n of [...c.inputs, ...c.outputs, c.scratch]) { ptrs.push(top); top += (4 * n + 63) & ~63; }
    const heap = new Float32Array(memory.buffer);
    c.inputs.forEach((n, i) => heap.set(rng.child(`${c.what}/${i}`).normalArray(n), ptrs[i] / 4));
    if (c.what.startsWith('attention backward')) { // p: rows of softmax probabilities
      const p = ptrs[4] / 4, T = numPatches(spec) + 1;
      for (let r = 0; r < c.inputs[4] / T; r++) { let z = 0; for (let j = 0; j < T; j++) z += (heap[p + r * T + j] = Math.exp(heap[p + r * T + j])); for (let j = 0; j < T; j++) heap[p + r * T + j] /= z; }
    }
    const outBits = () => c.outputs.map((n, i) => new Uint32Array(memory.buffer, ptrs[c.inputs.length + i], n).slice());
    const reps = Math.max(1, Math.round(2e6 / Math.max(...c.inputs)));
    const time = (k: (typeof mods)[number]) => { const c0 = process.cpuUsage(); for (let i = 0; i < reps; i++) c.call(k, ptrs); const d = process.cpuUsage(c0); return (d.user + d.system) / 1000 / reps; };
    mods.forEach((k) => time(k)); // warm-up (and compile)
    const ts: number[][] = mods.map(() => []);
    for (let r = 0; r < rounds; r++) for (const i of (r % 2 ? [...mods.keys()].reverse() : [...mods.keys()])) ts[i].push(time(mods[i]));
    let sameBits: boolean | null = null;
    if (mods.length === 2) {
      c.call(mods[0], ptrs); const a = outBits();
      c.call(mods[1], ptrs); const b = outBits();
      sameBits = a.every((x, i) => x.every((v, j) => v === b[i][j]));
    }
    rows.push({ what: c.what, count: c.count, ms: median(ts[0]), baselineMs: mods.length === 2 ? median(ts[1]) : null, sameBits });
  }
  const shape = `${chosen.name} (d=${spec.dim}, depth ${spec.depth}, ${spec.heads} heads, MLP ${spec.mlpDim}, ${numPatches(spec)} tokens + CLS), batch 32`;
  process.stdout.write(`fused wasm kernels of one step, ${shape}; median CPU time of ${rounds} rounds${opts.baseline ? `, alternating with the module of ${opts.baseline}` : ''}\n`);
  for (const r of rows) {
    process.stdout.write(`  ${r.what.padEnd(58)} x${String(r.count).padEnd(3)} ${r.ms.toFixed(3).padStart(8)} ms`
      + (r.baselineMs !== null ? `  baseline ${r.baselineMs.toFixed(3).padStart(8)} ms  ${(r.baselineMs / r.ms).toFixed(2)}x  ${r.sameBits ? 'same bits' : 'BITS DIFFER'}` : '') + '\n');
  }
  const total = (f: (r: KernelRow) => number) => rows.reduce((a, r) => a + f(r) * r.count, 0);
  process.stdout.write(`per step (each shape x its count): ${total((r) => r.ms).toFixed(1)} ms`
    + (opts.baseline ? `, baseline ${total((r) => r.baselineMs!).toFixed(1)} ms (${(total((r) => r.baselineMs!) / total((r) => r.ms)).toFixed(2)}x)` : '') + '\n');
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'kernels', model: chosen.name, baseline: opts.baseline ?? null, rows }) + '\n');
  return rows;
}
