/**
 * Random-k sparsification (Stich et al. 2018): keep k = ceil(rho * total) LoRA factor entries
 * chosen uniformly by a seeded generator. The server regenerates the positions from a shared 32-bit
 * seed, so only values and the seed are sent. Unsent entries count as zero (no rescaling).
 */
import { copyDense, denseBits, HEADER_BITS, type CompressInput, type CompressOutput, type Compressor } from './types';
import { loraNames, sparseFactorMessage } from './topk';

export const SEED_BITS = 32;

export class RandKCompressor implements Compressor {
  readonly name = 'randk';
  constructor(private readonly valueBits: number) {}

  compress({ update, rho, rng }: CompressInput): CompressOutput {
    const names = loraNames(update);
    let total = 0;
    for (const n of names) total += update[n].data.length;
    const k = Math.max(1, Math.min(total, Math.ceil(rho * total - 1e-9)));
    const chosen = rng.child('randk').sample(total, k);
    const out = sparseFactorMessage(update, names, chosen);
    copyDense(update, out);
    return { update: out, bits: HEADER_BITS + denseBits(update, this.valueBits) + k * this.valueBits + SEED_BITS, flops: 2 * k };
  }
}
