/**
 * SOFT selection (docs/method.md section 2; arXiv 2505.00333): rank each LoRA component by the change
 * of its rank-one term, s_i = || b'_i a'_i^T - b_i a_i^T ||_F, computed from norms and two dot
 * products in O(d_in + d_out) (no product matrix, no SVD), and send, per layer, the
 * ceil(rho r) components with the largest s_i: their indices and (db_i, da_i).
 *
 * Storage: lora_a is [d_in, r] (component i = column i), lora_b is [r, d_out] (row i).
 */
import type { WeightMap } from '../model/types';
import {
  copyDense, HEADER_BITS, keptComponents, messageShape, positionBits,
  type CompressInput, type CompressOutput, type Compressor, type LoraLayer, type MessageCost, type MessageShape,
} from './types';
import { withValueBits } from './quantize';
import { z } from 'zod';
import type { CompressorDefinition } from './types';

/** Column i of lora_a (stride r) and row i of lora_b, plus their deltas: dot products and norms. */
export function componentImportance(layer: LoraLayer, global: WeightMap, update: WeightMap, mode: 'exact' | 'factor-norm'): Float64Array {
  const { name, din, dout, rank: r } = layer;
  const a = global[`${name}.lora_a`].data, da = update[`${name}.lora_a`].data;
  const b = global[`${name}.lora_b`].data, db = update[`${name}.lora_b`].data;
  const s = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let aa = 0, a2a2 = 0, aa2 = 0; // ||a||^2, ||a'||^2, a.a'
    for (let p = 0; p < din; p++) {
      const x = a[p * r + i], x2 = x + da[p * r + i];
      aa += x * x; a2a2 += x2 * x2; aa2 += x * x2;
    }
    let bb = 0, b2b2 = 0, bb2 = 0;
    for (let q = 0; q < dout; q++) {
      const y = b[i * dout + q], y2 = y + db[i * dout + q];
      bb += y * y; b2b2 += y2 * y2; bb2 += y * y2;
    }
    s[i] = mode === 'factor-norm'
      ? Math.sqrt(a2a2 * b2b2)
      : Math.sqrt(Math.max(0, a2a2 * b2b2 + aa * bb - 2 * aa2 * bb2));
  }
  return s;
}

/** Indices of the m largest values (ties broken by the lower index), ascending. */
export function topIndices(s: ArrayLike<number>, m: number): number[] {
  return Array.from({ length: s.length }, (_, i) => i).sort((x, y) => s[y] - s[x] || x - y).slice(0, m).sort((x, y) => x - y);
}

/** Bits of the component index set of a layer: positionBits(m, r) (an r-bit mask or m indices). */
export function indexBits(m: number, r: number): number {
  return positionBits(m, r);
}

export class SoftCompressor implements Compressor {
  readonly name = 'soft';
  constructor(private readonly valueBits: number, private readonly importance: 'exact' | 'factor-norm') {}

  compress({ global, update, layers, rho }: CompressInput): CompressOutput {
    const out: WeightMap = {}, sent: Record<string, Uint8Array> = {};
    const importance: Record<string, Float64Array> = {}, selected: Record<string, number[]> = {};
    for (const layer of layers) {
      const { name, din, dout, rank: r } = layer;
      const s = componentImportance(layer, global, update, this.importance);
      const m = keptComponents(rho, r);
      const keep = topIndices(s, m);
      importance[name] = s; selected[name] = keep;
      const da = update[`${name}.lora_a`].data, db = update[`${name}.lora_b`].data;
      const oa = new Float32Array(da.length), ob = new Float32Array(db.length);
      const ma = new Uint8Array(da.length), mb = new Uint8Array(db.length);
      for (const i of keep) {
        for (let p = 0; p < din; p++) { oa[p * r + i] = da[p * r + i]; ma[p * r + i] = 1; }
        for (let q = 0; q < dout; q++) { ob[i * dout + q] = db[i * dout + q]; mb[i * dout + q] = 1; }
      }
      out[`${name}.lora_a`] = { shape: [din, r], data: oa };
      out[`${name}.lora_b`] = { shape: [r, dout], data: ob };
      sent[`${name}.lora_a`] = ma; sent[`${name}.lora_b`] = mb;
    }
    copyDense(update, out);
    return { update: out, sent, ...this.cost(messageShape(update), rho), importance, selected };
  }

  cost({ layers, denseParams }: MessageShape, rho: number): MessageCost {
    let bits = HEADER_BITS + denseParams * this.valueBits, flops = 0;
    for (const { din, dout, rank: r } of layers) {
      const m = keptComponents(rho, r);
      bits += m * (din + dout) * this.valueBits + indexBits(m, r);
      flops += r * 6 * (din + dout) + r * Math.ceil(Math.log2(r + 1)) * 2; // dots and norms + sort
    }
    return { bits, flops };
  }
}

export const soft = {
  name: 'soft',
  summary: 'SVD-free importance ranking of LoRA components',
  caps: { needsLora: true, sparsifies: true, usesK: false, errorFeedback: true },
  schema: {
    importance: z.enum(['exact', 'factor-norm'], { error: 'must be exact or factor-norm' }).default('exact')
      .meta({ description: "soft: component importance ||b'a'^T - ba^T|| (exact) or ||b'|| ||a'|| (factor-norm)" }),
  },
  create: (spec) => withValueBits(new SoftCompressor(spec.valueBits, (spec.importance ?? 'exact') as 'exact' | 'factor-norm'), spec.valueBits),
  note: (values) => ({
    title: 'SOFT',
    text: `Components ranked by importance (${values('compression.importance')}: exact = ||b'_i a'_i^T - b_i a_i^T||_F, factor-norm = ||b'_i|| ||a'_i||); m = ceil(rho r) per layer are sent, ties to the lower index; indices cost min(r-bit mask, m ceil(log2 r)) bits per layer. Orthogonality weight soft.lambda = ${values('soft.lambda')}.`,
  }),
} as const satisfies CompressorDefinition<'soft'>;
