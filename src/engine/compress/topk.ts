/**
 * Top-k sparsification (Aji & Heafield 2017; Stich et al. 2018) over all LoRA factor deltas
 * (dA and dB together): keep the k = ceil(rho * total) entries of largest magnitude, send values and
 * their positions (positionBits: a total-bit mask or k indices, whichever is smaller, as SOFT codes its
 * components). The head is sent dense. Unsent entries count as zero at the server.
 */
import type { WeightMap } from '../model/types';
import { copyDense, HEADER_BITS, loraEntries, messageShape, positionBits, type CompressInput, type CompressOutput, type Compressor, type MessageCost, type MessageShape } from './types';
import { withValueBits } from './quantize';
import type { CompressorDefinition } from './types';

/** Send `chosen` entries of the flattened LoRA deltas; shared by top-k and random-k. */
export function sparseFactorMessage(update: WeightMap, names: string[], chosen: Int32Array | number[]): WeightMap {
  const out: WeightMap = {};
  const offsets: number[] = [];
  let total = 0;
  for (const n of names) { offsets.push(total); total += update[n].data.length; out[n] = { shape: update[n].shape.slice(), data: new Float32Array(update[n].data.length) }; }
  let t = 0;
  const sorted = Array.from(chosen).sort((a, b) => a - b);
  for (const g of sorted) {
    while (t + 1 < names.length && offsets[t + 1] <= g) t++;
    const local = g - offsets[t];
    out[names[t]].data[local] = update[names[t]].data[local];
  }
  copyDense(update, out);
  return out;
}

/** Entries kept at ratio rho: ceil(rho total), at least 1. */
export function keptEntries(rho: number, total: number): number {
  return Math.max(1, Math.min(total, Math.ceil(rho * total - 1e-9)));
}

export function loraNames(update: WeightMap): string[] {
  return Object.keys(update).filter((k) => k.includes('.lora_')).sort();
}

export class TopKCompressor implements Compressor {
  readonly name = 'topk';
  constructor(private readonly valueBits: number) {}

  compress({ update, rho }: CompressInput): CompressOutput {
    const names = loraNames(update);
    const flat: number[] = [];
    for (const n of names) for (const v of update[n].data) flat.push(Math.abs(v));
    const total = flat.length;
    const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => flat[b] - flat[a] || a - b).slice(0, keptEntries(rho, total));
    return { update: sparseFactorMessage(update, names, order), ...this.cost(messageShape(update), rho) };
  }

  cost({ layers, denseParams }: MessageShape, rho: number): MessageCost {
    const total = loraEntries(layers), k = keptEntries(rho, total);
    return {
      bits: HEADER_BITS + denseParams * this.valueBits + k * this.valueBits + positionBits(k, total),
      flops: total * Math.ceil(Math.log2(total + 1)), // selection by sorting
    };
  }
}

export const topk = {
  name: 'topk',
  summary: 'the largest-magnitude LoRA factor entries',
  caps: { needsLora: true, sparsifies: true, usesK: true, errorFeedback: true },
  create: (spec) => withValueBits(new TopKCompressor(spec.valueBits), spec.valueBits),
  note: () => ({
    title: 'Top-k',
    text: 'The k = ceil(rho N) largest-magnitude entries over all N LoRA factor entries of a client together; positions cost min(N-bit mask, k ceil(log2 N)) bits, the same position code SOFT uses; unsent entries count as zero at the server (no renormalisation).',
  }),
} as const satisfies CompressorDefinition<'topk'>;
