/**
 * Tensor ops shaped for speed on the tfjs wasm backend (see shared/ENV.md): only plain 2-D,
 * non-transposed matMuls are fast there, so every linear layer works on 2-D activations and its
 * backward pass uses explicit transposes instead of transposed matMuls; batched attention products
 * run as one depthwiseConv2d (XNNPACK) on wasm. On other backends the plain batched matMul is used.
 */
import * as tf from '@tensorflow/tfjs-core';

type GradFn = (...args: never[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };
/** tf.customGrad with the inputs typed (tfjs types the variadic inputs as Tensor | GradSaveFunc). */
const customGrad = <F extends (...a: never[]) => tf.Tensor>(f: GradFn): F =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as F;

/** y = x W for a frozen W: the gradient flows to x only, via a precomputed WT = W^T (owned by the caller). */
export function frozenMatMul(W: tf.Tensor2D, WT: tf.Tensor2D): (x: tf.Tensor2D) => tf.Tensor2D {
  return customGrad<(x: tf.Tensor2D) => tf.Tensor2D>((x: tf.Tensor, _save: tf.GradSaveFunc) => ({
    value: tf.matMul(x as tf.Tensor2D, W),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, WT),
  }));
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

/**
 * Batched a[N,M,K] x b[N,K,P] as one depthwiseConv2d: input [1,M,K,N], filter [1,K,N,P].
 * `aT` / `bT`: the operand is passed transposed in its last two axes (a as [N,K,M], b as [N,P,K]);
 * the one transpose into the conv layout then absorbs that transpose (pure data movement).
 */
function bmmDepthwise(a: tf.Tensor3D, b: tf.Tensor3D, aT = false, bT = false): tf.Tensor3D {
  const [N, M, K] = aT ? [a.shape[0], a.shape[2], a.shape[1]] : a.shape;
  const P = bT ? b.shape[1] : b.shape[2];
  const inp = tf.reshape(tf.transpose(a, aT ? [2, 1, 0] : [1, 2, 0]), [1, M, K, N]) as tf.Tensor4D;
  const filt = tf.reshape(tf.transpose(b, bT ? [2, 0, 1] : [1, 0, 2]), [1, K, N, P]) as tf.Tensor4D;
  return tf.transpose(tf.reshape(tf.depthwiseConv2d(inp, filt, 1, 'valid'), [M, N, P]), [1, 0, 2]);
}

const bmmDepthwiseGrad = customGrad<(a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D>((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: bmmDepthwise(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor3D[];
      // da = dy b^T, db = a^T dy
      return [
        bmmDepthwise(dy as tf.Tensor3D, sb, false, true),
        bmmDepthwise(sa, dy as tf.Tensor3D, true, false),
      ];
    },
  };
});

/** Batched matMul for attention: a[N,M,K] x b[N,K,P]. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (tf.getBackend() === 'wasm') return bmmDepthwiseGrad(a, b);
  return tf.matMul(a, b);
}

/** Layer norm over the last axis of a 2-D tensor. */
export function layerNorm(x: tf.Tensor2D, gain: tf.Tensor, bias: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gain), bias);
}

/** Exact GELU: x * Phi(x). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}
