/**
 * Fused WGSL kernels for the webgpu backend: the Adam update, layer norm, exact GELU, the LoRA
 * branch and multi-head attention, forward and backward, under the same kernel names and with the
 * same inputs, outputs and attributes as the wasm/cpu kernels of kernels.ts, so ops.ts and the
 * optimizer pick them up wherever a backend has them.
 *
 * Why: a training step on webgpu is bound by kernel launches, not GPU arithmetic (profile on an
 * NVIDIA H200 in docs/performance.md: thousands of dispatches of tiny element-wise kernels, each
 * costing JavaScript and Dawn work). Each op chain here (Adam: 12 dispatches per trainable tensor;
 * layer norm with its gradient: ~40; GELU: ~15; LoRA: ~13; attention: ~21 a block of a training
 * step) becomes 3-6 dispatches (attention's 2 forward + 4 backward took 58 dispatches off a base
 * step, 843 -> 354 -> 296 with all kernels, and 178 off a vit-tiny step, 2,411 -> 994 -> 816:
 * `npm run bench -- backends --profile` on SwiftShader, docs/performance.md).
 * Attention: p (one invocation per score row: scores, max, exp, sum, divide) then o = p v forward;
 * dS = P (dP - rowsum(dP P)) scale (per score row, dP = dO v^T), then dq, dk and dv backward.
 *
 * A WGSL program can write one output buffer, so a kernel with several outputs runs one program per
 * output. The programs are plain objects in tfjs-backend-webgpu's WebGPUProgram shape (variable
 * names, output shape, dispatch, workgroup size, uniforms, getUserCode) run by the backend's
 * runWebGPUProgram; the backend adds the buffer and uniform declarations. Every output element is
 * summed by one invocation in a fixed order (no atomics, no cross-invocation reductions), so results
 * are deterministic on a given adapter. The sums over the batch rows (the gradients of the layer
 * norm's gain and bias and of the LoRA factors) run one invocation per output element: a
 * workgroup tree reduction was tried first: with it the LoRA backward (544 rows) took 440-800 ms on
 * SwiftShader here against 100-200 ms (a loaded machine), and on a GPU these few-thousand-thread
 * kernels cost far less than the launches they replace.
 *
 * FEDLORA_WEBGPU_KERNELS=tfjs keeps the tfjs op chains (for before/after comparisons).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM, ATTENTION, ATTENTION_GRAD, checkAttention, checkLora, envChoice, GELU, GELU_GRAD, LAYER_NORM, LAYER_NORM_GRAD, LORA, LORA_GRAD, type AdamAttrs, type AttnAttrs } from './kernels';

/** Threads per workgroup of every program here. */
const WG = 64;

interface Uniform { type: 'int32' | 'float32'; data: number[] }

/** The WebGPUProgram fields runWebGPUProgram reads (tfjs-backend-webgpu 4.x, webgpu_program.ts). */
class Program {
  readonly dispatchLayout: { x: number[] };
  /** (the backend may reshape the dispatch and extends the shader key with the shapes) */
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WG, 1, 1];
  readonly size = false;
  /**
   * `threads`: invocations to launch (rounded up to whole workgroups); the body sees its flat
   * invocation index as `index`, the inputs as arrays named `variableNames` and the output as `result`.
   */
  constructor(public shaderKey: string, readonly variableNames: string[], readonly outputShape: number[], threads: number, readonly uniforms: string, private readonly body: string) {
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.max(1, Math.ceil(threads / WG)), 1, 1];
  }

  getUserCode(): string { return this.body; }
}

interface WebgpuBackendLike {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: Uniform[]): tf.TensorInfo;
  disposeData(dataId: object): void;
}

const i32 = (...data: number[]): Uniform => ({ type: 'int32', data });
const f32 = (...data: number[]): Uniform => ({ type: 'float32', data });
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** An element-wise program over `n` outputs: `expr` in terms of `i` (the element), the inputs and the WGSL functions `helpers`. */
function elementwise(key: string, names: string[], shape: number[], uniforms: string, expr: string, helpers = ''): Program {
  return new Program(`fedlora_${key}`, names, shape, size(shape), `n : i32, ${uniforms}`, `${helpers}
    fn main(index : i32) {
      let i = index;
      if (i < uniforms.n) { result[i] = ${expr}; }
    }`);
}

/**
 * One invocation per output element e < uniforms.count: `setup` (WGSL statements, may use `e`) then
 * the sum over t of `term` (a WGSL expression in `t`), t from 0 to `uniforms.len`, in order.
 */
function columnSum(key: string, names: string[], shape: number[], uniforms: string, setup: string, term: string): Program {
  return new Program(`fedlora_${key}`, names, shape, size(shape), `count : i32, len : i32, ${uniforms}`, `
    fn main(index : i32) {
      let e = index;
      if (e >= uniforms.count) { return; }
      ${setup}
      var acc = 0.0;
      for (var t = 0; t < uniforms.len; t++) { acc = acc + ${term}; }
      result[e] = acc;
    }`);
}

/** One invocation per row r < uniforms.rows of a [rows, cols] input: `body` (WGSL statements). */
function perRow(key: string, names: string[], shape: number[], rows: number, uniforms: string, body: string): Program {
  return new Program(`fedlora_${key}`, names, shape, rows, `rows : i32, cols : i32, ${uniforms}`, `
    fn main(index : i32) {
      let r = index;
      if (r >= uniforms.rows) { return; }
      let base = r * uniforms.cols;
      ${body}
    }`);
}

/** Standard normal CDF from erf by Abramowitz and Stegun 7.1.26 (as tfjs's Erf on webgpu). */
const NORMAL_CDF = `
  fn fedloraPhi(x : f32) -> f32 {
    let a = x * ${Math.SQRT1_2};
    let absA = abs(a);
    let t = 1.0 / (1.0 + 0.3275911 * absA);
    let erfA = sign(a) * (1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-absA * absA));
    return 0.5 * (1.0 + erfA);
  }`;

/** The LoRA programs' inner products (the row-major [rows, cols] indexing of each operand). */
const LORA_HELPERS = {
  lora_u: `fn fedloraXA(i : i32) -> f32 {
      let n = i / uniforms.r; let j = i % uniforms.r; var s = 0.0;
      for (var k = 0; k < uniforms.din; k++) { s = s + X[n * uniforms.din + k] * A[k * uniforms.r + j]; }
      return s; }`,
  lora_out: `fn fedloraUB(i : i32) -> f32 {
      let n = i / uniforms.dout; let c = i % uniforms.dout; var s = 0.0;
      for (var j = 0; j < uniforms.r; j++) { s = s + U[n * uniforms.r + j] * B[j * uniforms.dout + c]; }
      return s; }`,
  lora_du: `fn fedloraDyBt(i : i32) -> f32 {
      let n = i / uniforms.r; let j = i % uniforms.r; var s = 0.0;
      for (var c = 0; c < uniforms.dout; c++) { s = s + (Dy[n * uniforms.dout + c] * uniforms.scale) * B[j * uniforms.dout + c]; }
      return s; }`,
  lora_dx: `fn fedloraDuAt(i : i32) -> f32 {
      let n = i / uniforms.din; let k = i % uniforms.din; var s = 0.0;
      for (var j = 0; j < uniforms.r; j++) { s = s + Du[n * uniforms.r + j] * A[k * uniforms.r + j]; }
      return s; }`,
} as const;

/**
 * Attention's index arithmetic (uniforms ATTN_UNIFORMS: the width dim = heads * hd, query rows tq and
 * key rows tk per sample). Heads sit side by side in the columns; p and dS are [batch, heads, tq, tk].
 */
const ATTN_UNIFORMS = 'dim : i32, hd : i32, heads : i32, tq : i32, tk : i32,';
const ATTN = {
  /** perRow over the score rows r = (b heads + h) tq + qi: qo / ko, where query row qi's / key row 0's head h starts in q (and dO) / k (and v). */
  row: `let qi = r % uniforms.tq;
      let h = (r / uniforms.tq) % uniforms.heads;
      let b = r / (uniforms.tq * uniforms.heads);
      let qo = (b * uniforms.tq + qi) * uniforms.dim + h * uniforms.hd;
      let ko = b * uniforms.tk * uniforms.dim + h * uniforms.hd;`,
  /** columnSum over an element e of a [batch tq, dim] output, summing over the keys t: its score row pRow, key row 0 of its column kCol. */
  query: `let n = e / uniforms.dim;
      let c = e % uniforms.dim;
      let b = n / uniforms.tq;
      let pRow = ((b * uniforms.heads + c / uniforms.hd) * uniforms.tq + n % uniforms.tq) * uniforms.tk;
      let kCol = b * uniforms.tk * uniforms.dim + c;`,
  /** columnSum over an element e of a [batch tk, dim] output, summing over the queries t: its score column pCol (query 0), query row 0 of its column qCol. */
  key: `let m = e / uniforms.dim;
      let c = e % uniforms.dim;
      let b = m / uniforms.tk;
      let pCol = (b * uniforms.heads + c / uniforms.hd) * uniforms.tq * uniforms.tk + m % uniforms.tk;
      let qCol = b * uniforms.tq * uniforms.dim + c;`,
  /** One head's dot product of row `a` of A at column offset ao with key row s of B at offset bo. */
  dot: (a: string, ao: string, b: string, bo: string) => `var acc = 0.0;
        for (var j = 0; j < uniforms.hd; j++) { acc = acc + ${a}[${ao} + j] * ${b}[${bo} + s * uniforms.dim + j]; }`,
} as const;

type KernelArgs = Parameters<tf.KernelFunc>[0];

function inputs(kernel: string, args: KernelArgs, names: string[]): tf.TensorInfo[] {
  return names.map((n) => {
    const t = args.inputs[n] as tf.TensorInfo | undefined;
    if (!t) throw new Error(`${kernel} (webgpu): missing input "${n}"`);
    if (t.dtype !== 'float32') throw new Error(`${kernel} (webgpu): input "${n}" must be float32, got ${t.dtype}`);
    return t;
  });
}

function expectShapes(kernel: string, ok: boolean, ts: tf.TensorInfo[]): void {
  if (!ok) throw new Error(`${kernel} (webgpu): inconsistent input shapes (${ts.map((t) => `[${t.shape}]`).join(', ')})`);
}

/** The kernels, by name. */
const KERNELS: Record<string, (args: KernelArgs, be: WebgpuBackendLike) => tf.TensorInfo[]> = {
  [ADAM]: (args, be) => {
    const [w, g, m, v] = inputs(ADAM, args, ['w', 'g', 'm', 'v']);
    const n = size(w.shape), a = args.attrs as unknown as AdamAttrs;
    expectShapes(ADAM, [g, m, v].every((t) => size(t.shape) === n), [w, g, m, v]);
    // the op chain's arithmetic, in its order: m1 = m b1 + g (1 - b1); v1 = v b2 + g^2 (1 - b2); w1 = w - m1 / (sqrt(v1) + eps) step
    const m1 = be.runWebGPUProgram(elementwise('adam_m', ['M', 'G'], w.shape, 'b : f32, c : f32,', 'M[i] * uniforms.b + G[i] * uniforms.c'), [m, g], 'float32', [i32(n), f32(a.b1), f32(a.c1)]);
    const v1 = be.runWebGPUProgram(elementwise('adam_v', ['V', 'G'], w.shape, 'b : f32, c : f32,', 'V[i] * uniforms.b + (G[i] * G[i]) * uniforms.c'), [v, g], 'float32', [i32(n), f32(a.b2), f32(a.c2)]);
    const w1 = be.runWebGPUProgram(elementwise('adam_w', ['W', 'M1', 'V1'], w.shape, 'eps : f32, step : f32,', 'W[i] - (M1[i] / (sqrt(V1[i]) + uniforms.eps)) * uniforms.step'), [w, m1, v1], 'float32', [i32(n), f32(a.eps), f32(a.step)]);
    return [w1, m1, v1];
  },
  [LAYER_NORM]: (args, be) => {
    const [x, gain, bias] = inputs(LAYER_NORM, args, ['x', 'gain', 'bias']);
    const D = x.shape[x.shape.length - 1], N = size(x.shape) / D, eps = (args.attrs as { eps: number }).eps;
    expectShapes(LAYER_NORM, size(gain.shape) === D && size(bias.shape) === D, [x, gain, bias]);
    const dims = [i32(N), i32(D)];
    const mean = be.runWebGPUProgram(perRow('ln_mean', ['X'], [N], N, '', `
      var s = 0.0;
      for (var j = 0; j < uniforms.cols; j++) { s = s + X[base + j]; }
      result[r] = s / f32(uniforms.cols);`), [x], 'float32', dims);
    const rstd = be.runWebGPUProgram(perRow('ln_rstd', ['X', 'Mean'], [N], N, 'eps : f32,', `
      let mu = Mean[r];
      var s = 0.0;
      for (var j = 0; j < uniforms.cols; j++) { let d = X[base + j] - mu; s = s + d * d; }
      result[r] = 1.0 / sqrt(s / f32(uniforms.cols) + uniforms.eps);`), [x, mean], 'float32', [...dims, f32(eps)]);
    const y = be.runWebGPUProgram(elementwise('ln_y', ['X', 'Mean', 'Rstd', 'Gain', 'Bias'], x.shape, 'cols : i32,',
      '(X[i] - Mean[i / uniforms.cols]) * Rstd[i / uniforms.cols] * Gain[i % uniforms.cols] + Bias[i % uniforms.cols]'), [x, mean, rstd, gain, bias], 'float32', [i32(N * D), i32(D)]);
    return [y, mean, rstd];
  },
  [LAYER_NORM_GRAD]: (args, be) => {
    const ins = inputs(LAYER_NORM_GRAD, args, ['dy', 'x', 'gain', 'mean', 'rstd']);
    const [dy, x, gain, mean, rstd] = ins;
    const D = x.shape[x.shape.length - 1], N = size(x.shape) / D;
    expectShapes(LAYER_NORM_GRAD, size(dy.shape) === N * D && size(gain.shape) === D && size(mean.shape) === N && size(rstd.shape) === N, ins);
    // dx = rstd (dy g - mean_j(dy g) - xhat mean_j(dy g xhat)), xhat = (x - mean) rstd
    const dx = be.runWebGPUProgram(perRow('ln_dx', ['Dy', 'X', 'Gain', 'Mean', 'Rstd'], x.shape, N, '', `
      let mu = Mean[r];
      let rs = Rstd[r];
      var s1 = 0.0;
      var s2 = 0.0;
      for (var j = 0; j < uniforms.cols; j++) {
        let gdy = Dy[base + j] * Gain[j];
        s1 = s1 + gdy;
        s2 = s2 + gdy * (X[base + j] - mu) * rs;
      }
      let m1 = s1 / f32(uniforms.cols);
      let m2 = s2 / f32(uniforms.cols);
      for (var j = 0; j < uniforms.cols; j++) {
        let xh = (X[base + j] - mu) * rs;
        result[base + j] = rs * (Dy[base + j] * Gain[j] - m1 - xh * m2);
      }`), [dy, x, gain, mean, rstd], 'float32', [i32(N), i32(D)]);
    const sums = [i32(D), i32(N), i32(D)];
    const dg = be.runWebGPUProgram(columnSum('ln_dgain', ['Dy', 'X', 'Mean', 'Rstd'], [D], 'cols : i32,', '',
      'Dy[t * uniforms.cols + e] * (X[t * uniforms.cols + e] - Mean[t]) * Rstd[t]'), [dy, x, mean, rstd], 'float32', sums);
    const db = be.runWebGPUProgram(columnSum('ln_dbias', ['Dy'], [D], 'cols : i32,', '', 'Dy[t * uniforms.cols + e]'), [dy], 'float32', sums);
    return [dx, dg, db];
  },
  [GELU]: (args, be) => {
    const [x] = inputs(GELU, args, ['x']);
    const n = [i32(size(x.shape))];
    const phi = be.runWebGPUProgram(elementwise('gelu_phi', ['X'], x.shape, '', 'fedloraPhi(X[i])', NORMAL_CDF), [x], 'float32', n);
    const y = be.runWebGPUProgram(elementwise('gelu_y', ['X', 'Phi'], x.shape, '', 'X[i] * Phi[i]'), [x, phi], 'float32', n);
    return [y, phi];
  },
  [GELU_GRAD]: (args, be) => {
    const ins = inputs(GELU_GRAD, args, ['dy', 'x', 'phi']);
    const n = size(ins[1].shape);
    expectShapes(GELU_GRAD, ins.every((t) => size(t.shape) === n), ins);
    // d/dx x Phi(x) = Phi(x) + x pdf(x)
    return [be.runWebGPUProgram(elementwise('gelu_grad', ['Dy', 'X', 'Phi'], ins[1].shape, '',
      `Dy[i] * (Phi[i] + X[i] * exp(-0.5 * X[i] * X[i]) * ${1 / Math.sqrt(2 * Math.PI)})`), ins, 'float32', [i32(n)])];
  },
  [LORA]: (args, be) => {
    const ins = inputs(LORA, args, ['y0', 'x', 'a', 'b']);
    const [y0, x, a, b] = ins;
    const [N, din] = x.shape, r = a.shape[1], dout = b.shape[1], scale = (args.attrs as { scale: number }).scale;
    checkLora(LORA, y0, x, a, b);
    // u = x a [N, r]; out = y0 + (u b) scale
    const u = be.runWebGPUProgram(elementwise('lora_u', ['X', 'A'], [N, r], 'din : i32, r : i32,', 'fedloraXA(i)', LORA_HELPERS.lora_u), [x, a], 'float32', [i32(N * r), i32(din), i32(r)]);
    const out = be.runWebGPUProgram(elementwise('lora_out', ['Y0', 'U', 'B'], [N, dout], 'r : i32, dout : i32, scale : f32,', 'Y0[i] + fedloraUB(i) * uniforms.scale', LORA_HELPERS.lora_out), [y0, u, b], 'float32', [i32(N * dout), i32(r), i32(dout), f32(scale)]);
    return [out, u];
  },
  [LORA_GRAD]: (args, be) => {
    const ins = inputs(LORA_GRAD, args, ['dy', 'x', 'a', 'b', 'u']);
    const [dy, x, a, b, u] = ins;
    const [N, din] = x.shape, r = a.shape[1], dout = b.shape[1], scale = (args.attrs as { scale: number }).scale;
    checkLora(LORA_GRAD, dy, x, a, b);
    expectShapes(LORA_GRAD, size(u.shape) === N * r, ins);
    // du = (dy scale) b^T [N, r]; dx = du a^T; dA = x^T du; dB = u^T (dy scale)
    const du = be.runWebGPUProgram(elementwise('lora_du', ['Dy', 'B'], [N, r], 'r : i32, dout : i32, scale : f32,', 'fedloraDyBt(i)', LORA_HELPERS.lora_du), [dy, b], 'float32', [i32(N * r), i32(r), i32(dout), f32(scale)]);
    const dx = be.runWebGPUProgram(elementwise('lora_dx', ['Du', 'A'], [N, din], 'din : i32, r : i32,', 'fedloraDuAt(i)', LORA_HELPERS.lora_dx), [du, a], 'float32', [i32(N * din), i32(din), i32(r)]);
    const da = be.runWebGPUProgram(columnSum('lora_da', ['X', 'Du'], [din, r], 'din : i32, r : i32,', 'let ai = e / uniforms.r; let aj = e % uniforms.r;',
      'X[t * uniforms.din + ai] * Du[t * uniforms.r + aj]'), [x, du], 'float32', [i32(din * r), i32(N), i32(din), i32(r)]);
    const db = be.runWebGPUProgram(columnSum('lora_db', ['U', 'Dy'], [r, dout], 'r : i32, dout : i32, scale : f32,', 'let bj = e / uniforms.dout; let bk = e % uniforms.dout;',
      'U[t * uniforms.r + bj] * (Dy[t * uniforms.dout + bk] * uniforms.scale)'), [u, dy], 'float32', [i32(r * dout), i32(N), i32(r), i32(dout), f32(scale)]);
    be.disposeData(du.dataId);
    return [dx, da, db];
  },
  [ATTENTION]: (args, be) => {
    const ins = inputs(ATTENTION, args, args.inputs.mask ? ['q', 'k', 'v', 'mask'] : ['q', 'k', 'v']);
    const [q, k, v, mask] = ins;
    const a = args.attrs as unknown as AttnAttrs, rows = a.batch * a.heads * a.Tq;
    const dims = attentionUniforms(ATTENTION, a, q, k, v, mask);
    // p: per score row, scores q k^T scale (+ mask), then a stable softmax (max, exp, sum, divide)
    const p = be.runWebGPUProgram(perRow(mask ? 'attn_p_mask' : 'attn_p', mask ? ['Q', 'K', 'Mask'] : ['Q', 'K'], [a.batch, a.heads, a.Tq, a.T], rows, `${ATTN_UNIFORMS} scale : f32,`, `
      ${ATTN.row}
      var mx = -3.4e38;
      for (var s = 0; s < uniforms.cols; s++) {
        ${ATTN.dot('Q', 'qo', 'K', 'ko')}
        let sc = acc * uniforms.scale${mask ? ' + Mask[b * uniforms.tk + s]' : ''};
        result[base + s] = sc;
        mx = max(mx, sc);
      }
      var sum = 0.0;
      for (var s = 0; s < uniforms.cols; s++) { let ex = exp(result[base + s] - mx); result[base + s] = ex; sum = sum + ex; }
      let inv = 1.0 / sum;
      for (var s = 0; s < uniforms.cols; s++) { result[base + s] = result[base + s] * inv; }`), mask ? [q, k, mask] : [q, k], 'float32', [i32(rows), i32(a.T), ...dims, f32(a.scale)]);
    // o = p v, per head
    const o = be.runWebGPUProgram(columnSum('attn_o', ['P', 'V'], q.shape, ATTN_UNIFORMS, ATTN.query, 'P[pRow + t] * V[kCol + t * uniforms.dim]'),
      [p, v], 'float32', [i32(size(q.shape)), i32(a.T), ...dims]);
    return [o, p];
  },
  [ATTENTION_GRAD]: (args, be) => {
    const ins = inputs(ATTENTION_GRAD, args, ['dy', 'q', 'k', 'v', 'p']);
    const [dy, q, k, v, p] = ins;
    const a = args.attrs as unknown as AttnAttrs, rows = a.batch * a.heads * a.Tq;
    const dims = attentionUniforms(ATTENTION_GRAD, a, q, k, v);
    expectShapes(ATTENTION_GRAD, size(dy.shape) === size(q.shape) && size(p.shape) === rows * a.T, ins);
    // dS = P (dP - rowsum(dP P)) scale per score row, dP = dO v^T; then dq = dS k, dk = dS^T q, dv = P^T dO
    const ds = be.runWebGPUProgram(perRow('attn_ds', ['Dy', 'V', 'P'], [a.batch, a.heads, a.Tq, a.T], rows, `${ATTN_UNIFORMS} scale : f32,`, `
      ${ATTN.row}
      var rs = 0.0;
      for (var s = 0; s < uniforms.cols; s++) {
        ${ATTN.dot('Dy', 'qo', 'V', 'ko')}
        result[base + s] = acc;
        rs = rs + acc * P[base + s];
      }
      for (var s = 0; s < uniforms.cols; s++) { result[base + s] = P[base + s] * (result[base + s] - rs) * uniforms.scale; }`),
    [dy, v, p], 'float32', [i32(rows), i32(a.T), ...dims, f32(a.scale)]);
    const dq = be.runWebGPUProgram(columnSum('attn_dq', ['S', 'K'], q.shape, ATTN_UNIFORMS, ATTN.query, 'S[pRow + t] * K[kCol + t * uniforms.dim]'),
      [ds, k], 'float32', [i32(size(q.shape)), i32(a.T), ...dims]);
    const keys = [i32(size(k.shape)), i32(a.Tq), ...dims];
    const dk = be.runWebGPUProgram(columnSum('attn_dk', ['S', 'Q'], k.shape, ATTN_UNIFORMS, ATTN.key, 'S[pCol + t * uniforms.tk] * Q[qCol + t * uniforms.dim]'), [ds, q], 'float32', keys);
    const dv = be.runWebGPUProgram(columnSum('attn_dv', ['P', 'Dy'], k.shape, ATTN_UNIFORMS, ATTN.key, 'P[pCol + t * uniforms.tk] * Dy[qCol + t * uniforms.dim]'), [p, dy], 'float32', keys);
    be.disposeData(ds.dataId);
    return [dq, dk, dv];
  },
};

/** The programs' shape uniforms of attention (ATTN_UNIFORMS), after kernels.ts's shape check. */
function attentionUniforms(kernel: string, a: AttnAttrs, q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, mask?: tf.TensorInfo): Uniform[] {
  checkAttention(kernel, a, q, k, v, mask);
  const d = q.shape[1];
  return [i32(d), i32(d / a.heads), i32(a.heads), i32(a.Tq), i32(a.T)];
}


export type WebgpuKernelMode = 'fused' | 'tfjs';

/** FEDLORA_WEBGPU_KERNELS: `fused` (the default) or `tfjs` (the op chains); anything else is an error. */
export function webgpuKernelMode(): WebgpuKernelMode {
  return envChoice('FEDLORA_WEBGPU_KERNELS', ['fused', 'tfjs']);
}

/** Register the fused kernels for the webgpu backend (idempotent). */
export function registerWebgpuKernels(): void {
  for (const [kernelName, f] of Object.entries(KERNELS)) {
    if (tf.getKernel(kernelName, 'webgpu')) continue;
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: ((args: KernelArgs) => f(args, args.backend as unknown as WebgpuBackendLike)) as unknown as tf.KernelFunc });
  }
}

/** Remove them again (the tfjs op chains run instead): for before/after comparisons. */
export function unregisterWebgpuKernels(): void {
  for (const kernelName of Object.keys(KERNELS)) if (tf.getKernel(kernelName, 'webgpu')) tf.unregisterKernel(kernelName, 'webgpu');
}

/** The kernel names registered here. */
export const WEBGPU_KERNELS = Object.keys(KERNELS);

/**
 * Run `f` on the current (webgpu) backend counting the compute dispatches it records (programs run
 * with a non-empty output), in total and by program. Throws on another backend.
 */
export async function countDispatches<T>(f: () => T | Promise<T>): Promise<{ value: T; dispatches: number; byProgram: Record<string, number> }> {
  if (tf.getBackend() !== 'webgpu') throw new Error(`countDispatches: the current backend is ${tf.getBackend()}, not webgpu`);
  const be = tf.backend() as unknown as { runWebGPUProgram: (p: { outputShape: number[]; shaderKey?: string; constructor: { name: string } }, ...rest: unknown[]) => unknown };
  const own = Object.prototype.hasOwnProperty.call(be, 'runWebGPUProgram');
  const original = be.runWebGPUProgram;
  const byProgram: Record<string, number> = {};
  let dispatches = 0;
  be.runWebGPUProgram = function (this: unknown, p, ...rest) {
    if (size(p.outputShape) > 0) {
      dispatches++;
      const name = p.constructor.name === 'Program' ? String(p.shaderKey) : p.constructor.name;
      byProgram[name] = (byProgram[name] ?? 0) + 1;
    }
    return original.call(this, p, ...rest);
  };
  try {
    const value = await f();
    return { value, dispatches, byProgram };
  } finally {
    if (own) be.runWebGPUProgram = original; else delete (be as { runWebGPUProgram?: unknown }).runWebGPUProgram;
  }
}
