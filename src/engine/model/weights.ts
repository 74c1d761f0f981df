/** Element-wise arithmetic on named weight maps (plain arrays, no tensors). */
import type { WeightMap } from './types';

export function cloneWeights(w: WeightMap): WeightMap {
  const out: WeightMap = {};
  for (const [k, v] of Object.entries(w)) out[k] = { shape: v.shape.slice(), data: Float32Array.from(v.data) };
  return out;
}

export function subtractWeights(a: WeightMap, b: WeightMap): WeightMap {
  const out: WeightMap = {};
  for (const [k, v] of Object.entries(a)) {
    const o = b[k];
    if (!o || o.data.length !== v.data.length) throw new Error(`weights: "${k}" missing or of another size`);
    const d = new Float32Array(v.data.length);
    for (let i = 0; i < d.length; i++) d[i] = v.data[i] - o.data[i];
    out[k] = { shape: v.shape.slice(), data: d };
  }
  return out;
}

/** a += scale * b, in place. */
export function addScaledInPlace(a: WeightMap, b: WeightMap, scale = 1): void {
  for (const [k, v] of Object.entries(b)) {
    const t = a[k];
    if (!t || t.data.length !== v.data.length) throw new Error(`weights: "${k}" missing or of another size`);
    for (let i = 0; i < v.data.length; i++) t.data[i] += scale * v.data[i];
  }
}

export function zerosLike(w: WeightMap): WeightMap {
  const out: WeightMap = {};
  for (const [k, v] of Object.entries(w)) out[k] = { shape: v.shape.slice(), data: new Float32Array(v.data.length) };
  return out;
}

export function countParams(w: WeightMap): number {
  let n = 0;
  for (const v of Object.values(w)) n += v.data.length;
  return n;
}

/** True when any value is NaN or infinite. */
export function hasNonFinite(w: WeightMap): boolean {
  for (const v of Object.values(w)) for (let i = 0; i < v.data.length; i++) if (!Number.isFinite(v.data[i])) return true;
  return false;
}
