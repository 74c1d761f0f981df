/**
 * SOFT's near-orthogonality (docs/method.md section 2): penalise the off-diagonal of the Gram matrix of
 * the normalised components of each adapter, so that ranking components by their norms
 * approximates the SVD. Norms stay free; only directions are pushed apart.
 *   lora_a [d_in, r]: components are its columns; lora_b [r, d_out]: its rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WeightMap } from '../model/types';
import type { LoraLayer } from '../compress/types';

const EPS2 = 1e-12;

/** ||offdiag(G)||_F^2 of the normalised columns of x [n, r]. */
function offDiagSq(x: tf.Tensor2D): tf.Scalar {
  const r = x.shape[1];
  const normed = tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 0, true), EPS2)));
  const g = tf.matMul(normed, normed, true, false);
  const mask = tf.sub(1, tf.eye(r));
  return tf.sum(tf.square(tf.mul(g, mask)));
}

/** lambda * sum over layers of (offdiag(G(A)) + offdiag(G(B^T))), as a differentiable scalar. */
export function orthogonalityPenalty(vars: Map<string, tf.Variable>, layers: string[], lambda: number): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    for (const name of layers) {
      const a = vars.get(`${name}.lora_a`) as tf.Tensor2D, b = vars.get(`${name}.lora_b`) as tf.Tensor2D;
      total = tf.add(total, tf.add(offDiagSq(a), offDiagSq(tf.transpose(b))));
    }
    return tf.mul(total, lambda);
  });
}

/** Mean over layers and both factors of ||offdiag(G)||_F (plain arrays; the `orthResidual` metric). */
export function orthResidual(w: WeightMap, layers: LoraLayer[]): number {
  if (!layers.length) return 0;
  let sum = 0;
  for (const { name, din, dout, rank: r } of layers) {
    const a = w[`${name}.lora_a`].data, b = w[`${name}.lora_b`].data;
    // columns of a: element (p, i) at p*r+i ; rows of b: element (i, q) at i*dout+q
    const colA = (i: number, p: number) => a[p * r + i], rowB = (i: number, q: number) => b[i * dout + q];
    for (const [get, len] of [[colA, din], [rowB, dout]] as const) {
      const norms = Array.from({ length: r }, (_, i) => { let s = 0; for (let p = 0; p < len; p++) s += get(i, p) ** 2; return Math.sqrt(s); });
      let off = 0;
      for (let i = 0; i < r; i++) for (let j = i + 1; j < r; j++) {
        if (norms[i] === 0 || norms[j] === 0) continue;
        let d = 0;
        for (let p = 0; p < len; p++) d += get(i, p) * get(j, p);
        off += 2 * (d / (norms[i] * norms[j])) ** 2;
      }
      sum += Math.sqrt(off);
    }
  }
  return sum / (2 * layers.length);
}
