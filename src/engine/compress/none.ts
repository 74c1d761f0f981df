/** Dense FedIT (Zhang et al. 2024): every factor and the head sent as values, no indices. */
import { HEADER_BITS, loraEntries, messageShape, type CompressInput, type CompressOutput, type Compressor, type MessageCost, type MessageShape } from './types';
import type { WeightMap } from '../model/types';
import { withValueBits } from './quantize';
import type { CompressorDefinition } from './types';

export class NoCompressor implements Compressor {
  readonly name = 'none';
  constructor(private readonly valueBits: number) {}

  compress({ update }: CompressInput): CompressOutput {
    const out: WeightMap = {};
    for (const [k, v] of Object.entries(update)) out[k] = { shape: v.shape.slice(), data: Float32Array.from(v.data) };
    return { update: out, ...this.cost(messageShape(update), 1) };
  }

  cost({ layers, denseParams }: MessageShape, _rho: number): MessageCost {
    return { bits: HEADER_BITS + (loraEntries(layers) + denseParams) * this.valueBits, flops: 0 };
  }
}

export const none = {
  name: 'none',
  summary: 'dense FedIT',
  caps: { needsLora: false, sparsifies: false, usesK: false, errorFeedback: false },
  create: (spec) => withValueBits(new NoCompressor(spec.valueBits), spec.valueBits),
} as const satisfies CompressorDefinition<'none'>;
