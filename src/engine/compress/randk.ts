/**
 * Random-k sparsification (Stich et al. 2018): keep k = ceil(rho * total) LoRA factor entries
 * chosen uniformly by a seeded generator. The server regenerates the positions from a shared 32-bit
 * seed, so only values and the seed are sent. Unsent entries count as zero (no rescaling).
 */
import { copyDense, HEADER_BITS, loraEntries, messageShape, type CompressInput, type CompressOutput, type Compressor, type MessageCost, type MessageShape } from './types';
import { keptEntries, loraNames, sparseFactorMessage } from './topk';
import { withValueBits } from './quantize';
import type { CompressorDefinition } from './types';

export const SEED_BITS = 32;

export class RandKCompressor implements Compressor {
  readonly name = 'randk';
  constructor(private readonly valueBits: number) {}

  compress({ update, rho, rng }: CompressInput): CompressOutput {
    const names = loraNames(update);
    let total = 0;
    for (const n of names) total += update[n].data.length;
    const chosen = rng.child('randk').sample(total, keptEntries(rho, total));
    const out = sparseFactorMessage(update, names, chosen);
    copyDense(update, out);
    return { update: out, ...this.cost(messageShape(update), rho) };
  }

  cost({ layers, denseParams }: MessageShape, rho: number): MessageCost {
    const k = keptEntries(rho, loraEntries(layers));
    return { bits: HEADER_BITS + denseParams * this.valueBits + k * this.valueBits + SEED_BITS, flops: 2 * k };
  }
}

export const randk = {
  name: 'randk',
  summary: 'LoRA factor entries chosen at random',
  caps: { needsLora: true, sparsifies: true, usesK: true, errorFeedback: true },
  create: (spec) => withValueBits(new RandKCompressor(spec.valueBits), spec.valueBits),
  note: () => ({
    title: 'Random-k',
    text: 'k = ceil(rho N) of the N LoRA factor entries of a client, drawn from the seeded stream (seed, compress, round, client); one 32-bit seed is sent instead of positions; unsent entries count as zero at the server (no renormalisation).',
  }),
} as const satisfies CompressorDefinition<'randk'>;
