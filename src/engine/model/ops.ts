/**
 * Tensor ops shaped for speed on the tfjs wasm backend (docs/performance.md): only plain 2-D,
 * non-transposed matMuls are fast there, so every linear layer works on 2-D activations and its
 * backward pass uses explicit transposes instead of transposed matMuls. Layer norm, GELU,
 * attention and the LoRA branch run as the engine's fused kernels (kernels.ts) on wasm and cpu,
 * and as WGSL kernels on webgpu (webgpuKernels.ts); each op asks whether the current backend has
 * its kernel. The `...Ops` versions, made of tfjs ops, serve the tensorflow backends (and webgpu
 * under FEDLORA_WEBGPU_KERNELS=tfjs) and are the kernels' test reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ATTENTION, ATTENTION_GRAD, GELU, GELU_GRAD, gemmMode, hasKernel, LAYER_NORM, LAYER_NORM_GRAD, LORA, LORA_GRAD, MATMUL } from './kernels';

const run = (name: string, inputs: tf.NamedTensorMap, attrs: object = {}) =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
/** A single-output kernel (the engine returns a one-element array for a kernel returning [info]). */
const run1 = (name: string, inputs: tf.NamedTensorMap, attrs: object = {}): tf.Tensor => { const r = run(name, inputs, attrs); return Array.isArray(r) ? r[0] : r; };

type GradFn = (...args: never[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };
/** tf.customGrad with the inputs typed (tfjs types the variadic inputs as Tensor | GradSaveFunc). */
const customGrad = <F extends (...a: never[]) => tf.Tensor>(f: GradFn): F =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as F;

/**
 * op(a) op(b) (+ bias) by the engine's packed SGEMM (kernels.c `sgemm`; wasm and cpu backends), op
 * = transpose where asked. No gradient of its own: the callers' custom gradients use it.
 */
export function gemm(a: tf.Tensor2D, b: tf.Tensor2D, opts: { transposeA?: boolean; transposeB?: boolean; bias?: tf.Tensor } = {}): tf.Tensor2D {
  const inputs: tf.NamedTensorMap = opts.bias ? { a, b, bias: opts.bias } : { a, b };
  return run1(MATMUL, inputs, { transposeA: !!opts.transposeA, transposeB: !!opts.transposeB }) as tf.Tensor2D;
}

/**
 * Whether the engine's GEMM runs [M, K] x [K, N] here: on the wasm backend (where it gives the
 * same bits as tfjs's XNNPACK matMul, so a run's results do not change; the cpu backend's
 * JavaScript matMul sums in another order, and keeps it), unless FEDLORA_GEMM=tfjs. Every frozen
 * projection shape of the shipped model, d=128 and ViT-Tiny was measured at least as fast on it as
 * on XNNPACK (docs/performance.md, `npm run bench -- gemm`; the small ones, such as the CLS-only
 * rows of the last block, 1.6-4.9x), so no shape is excluded. A fixed rule, never a timing taken
 * at run time.
 */
export function ownGemmPays(M: number, K: number, N: number): boolean {
  return tf.getBackend() === 'wasm' && gemmMode() === 'fedlora' && M > 0 && K > 0 && N > 0;
}

/**
 * y = x W (+ b) for a frozen W (and frozen b): the gradient flows to x only. The bias is added
 * inside the matMul kernel (one pass). Both directions run on the engine's GEMM where it pays
 * (the gradient as dy W^T straight from W), else on tfjs's matMul with the precomputed WT = W^T
 * (owned by the caller).
 */
export function frozenMatMul(W: tf.Tensor2D, WT: tf.Tensor2D, bias?: tf.Tensor): (x: tf.Tensor2D) => tf.Tensor2D {
  const [K, N] = W.shape;
  return customGrad<(x: tf.Tensor2D) => tf.Tensor2D>((x: tf.Tensor, _save: tf.GradSaveFunc) => {
    const M = x.shape[0];
    const value = ownGemmPays(M, K, N) ? gemm(x as tf.Tensor2D, W, { bias })
      : bias ? tf.fused.matMul({ a: x as tf.Tensor2D, b: W, bias }) : tf.matMul(x as tf.Tensor2D, W);
    return {
      value,
      gradFunc: (dy: tf.Tensor) => (ownGemmPays(M, N, K) ? gemm(dy as tf.Tensor2D, W, { transposeB: true }) : tf.matMul(dy as tf.Tensor2D, WT)),
    };
  });
}

/** y = a b (2-D or batched 3-D) with a backward pass made only of plain matMuls. */
export const matMulPlain = customGrad<(a: tf.Tensor, b: tf.Tensor) => tf.Tensor>((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      const perm = sa.rank === 2 ? [1, 0] : [0, 2, 1];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(sb, perm) as tf.Tensor2D),
        tf.matMul(tf.transpose(sa, perm) as tf.Tensor2D, dy as tf.Tensor2D),
      ];
    },
  };
});

/** One function per value of a kernel attribute (eps, scale), made on first use. */
function perAttribute<F>(make: (value: number) => F): (value: number) => F {
  const made = new Map<number, F>();
  return (value) => {
    let f = made.get(value);
    if (!f) { f = make(value); made.set(value, f); }
    return f;
  };
}

/** Fused layer norm with its gradient (to x, gain and bias), one per eps. */
const fusedLayerNorm = perAttribute((eps) => customGrad<(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor2D>((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const [y, mean, rstd] = run(LAYER_NORM, { x, gain: g, bias: b }, { eps }) as tf.Tensor[];
  save([x, g, mean, rstd]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [sx, sg, sm, sr]: tf.Tensor[]) => run(LAYER_NORM_GRAD, { dy, x: sx, gain: sg, mean: sm, rstd: sr }) as tf.Tensor[],
  };
}));

/** Layer norm over the last axis of a 2-D tensor (one fused kernel each way on wasm/cpu). */
export function layerNorm(x: tf.Tensor2D, gain: tf.Tensor, bias: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  return hasKernel(LAYER_NORM) ? fusedLayerNorm(eps)(x, gain, bias) : layerNormOps(x, gain, bias, eps);
}

/** Layer norm from tfjs ops (the tensorflow backends; the reference for the fused kernel). */
export function layerNormOps(x: tf.Tensor2D, gain: tf.Tensor, bias: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gain), bias);
}

const fusedGelu = customGrad<(x: tf.Tensor) => tf.Tensor>((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const [y, phi] = run(GELU, { x }) as tf.Tensor[];
  save([x, phi]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [sx, sphi]: tf.Tensor[]) => run1(GELU_GRAD, { dy, x: sx, phi: sphi }),
  };
});

/** Exact GELU: x * Phi(x). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return hasKernel(GELU) ? fusedGelu(x) : geluOps(x);
}

/** Exact GELU from tfjs ops. */
export function geluOps(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

interface AttentionShape { batch: number; T: number; heads: number }

function fusedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, mask: tf.Tensor | undefined, { batch, T, heads }: AttentionShape): tf.Tensor2D {
  const attrs = { batch, Tq: q.shape[0] / batch, T, heads, scale: 1 / Math.sqrt(q.shape[1] / heads) };
  const grads = (dy: tf.Tensor, [sq, sk, sv, sp]: tf.Tensor[]) => run(ATTENTION_GRAD, { dy, q: sq, k: sk, v: sv, p: sp }, attrs) as tf.Tensor[];
  const forward = (inputs: tf.NamedTensorMap, save: tf.GradSaveFunc) => {
    const [o, p] = run(ATTENTION, inputs, attrs) as tf.Tensor[];
    save([inputs.q, inputs.k, inputs.v, p]);
    return o;
  };
  if (!mask) {
    return customGrad<(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor2D>((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, save: tf.GradSaveFunc) => ({
      value: forward({ q: qq, k: kk, v: vv }, save), gradFunc: grads,
    }))(q, k, v);
  }
  return customGrad<(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor) => tf.Tensor2D>((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, mm: tf.Tensor, save: tf.GradSaveFunc) => ({
    value: forward({ q: qq, k: kk, v: vv, mask: mm }, save),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [...grads(dy, saved), tf.zerosLike(mm)], // the mask is a constant
  }))(q, k, v, mask);
}

/**
 * Scaled dot-product multi-head attention on 2-D activations: k, v [batch * T, d] with the heads
 * side by side in the columns, q [batch * Tq, d] (Tq = T for self-attention, 1 when only the first
 * token's output is needed); `mask` [batch, T] (or any shape with batch * T values) is added to
 * every query's scores over the keys. Returns [batch * Tq, d]. One fused kernel each way on
 * wasm/cpu/webgpu; elsewhere split into heads, batched products and softmax.
 */
export function attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, shape: AttentionShape, mask?: tf.Tensor): tf.Tensor2D {
  return hasKernel(ATTENTION) ? fusedAttention(q, k, v, mask && tf.reshape(mask, [shape.batch, shape.T]), shape) : attentionOps(q, k, v, shape, mask);
}

/** Multi-head attention from tfjs ops: split into heads, batched products, softmax, merge. */
export function attentionOps(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, shape: AttentionShape, mask?: tf.Tensor): tf.Tensor2D {
  const { batch, T, heads: H } = shape;
  const d = q.shape[1], hd = d / H, Tq = q.shape[0] / batch;
  const split = (t: tf.Tensor2D, rows: number, perm: number[], s: [number, number, number]) =>
    tf.reshape(tf.transpose(tf.reshape(t, [batch, rows, H, hd]), perm), s) as tf.Tensor3D;
  const qh = split(q, Tq, [0, 2, 1, 3], [batch * H, Tq, hd]);
  const kT = split(k, T, [0, 2, 3, 1], [batch * H, hd, T]);
  const vh = split(v, T, [0, 2, 1, 3], [batch * H, T, hd]);
  let scores = tf.mul(tf.matMul(qh, kT), 1 / Math.sqrt(hd)) as tf.Tensor3D;
  if (mask) scores = tf.reshape(tf.add(tf.reshape(scores, [batch, H, Tq, T]), tf.reshape(mask, [batch, 1, 1, T])), [batch * H, Tq, T]);
  const att = tf.softmax(scores) as tf.Tensor3D;
  return tf.reshape(tf.transpose(tf.reshape(tf.matMul(att, vh), [batch, H, Tq, hd]), [0, 2, 1, 3]), [batch * Tq, d]) as tf.Tensor2D;
}

/** Fused LoRA branches, one per scale. */
const fusedLora = perAttribute((scale) => customGrad<(y0: tf.Tensor2D, x: tf.Tensor2D, a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D>((y0: tf.Tensor, x: tf.Tensor, a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const [out, u] = run(LORA, { y0, x, a, b }, { scale }) as tf.Tensor[];
  save([x, a, b, u]);
  return {
    value: out,
    gradFunc: (dy: tf.Tensor, [sx, sa, sb, su]: tf.Tensor[]) => [dy, ...(run(LORA_GRAD, { dy, x: sx, a: sa, b: sb, u: su }, { scale }) as tf.Tensor[])],
  };
}));

/**
 * y0 + scale (x a) b: a LoRA branch (a [d_in, r], b [r, d_out]) added to a linear layer's output
 * y0 [N, d_out]. One fused kernel each way on wasm/cpu.
 */
export function loraAdd(y0: tf.Tensor2D, x: tf.Tensor2D, a: tf.Tensor, b: tf.Tensor, scale: number): tf.Tensor2D {
  return hasKernel(LORA) ? fusedLora(scale)(y0, x, a, b) : loraAddOps(y0, x, a, b, scale);
}

/** The LoRA branch from tfjs ops (plain 2-D matMuls). */
export function loraAddOps(y0: tf.Tensor2D, x: tf.Tensor2D, a: tf.Tensor, b: tf.Tensor, scale: number): tf.Tensor2D {
  return tf.add(y0, tf.mul(matMulPlain(matMulPlain(x, a), b), scale));
}
