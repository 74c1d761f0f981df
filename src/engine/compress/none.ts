/** Dense FedIT (Zhang et al. 2024): every factor and the head sent as values, no indices. */
import { copyDense, HEADER_BITS, type CompressInput, type CompressOutput, type Compressor } from './types';
import type { WeightMap } from '../model/types';

export class NoCompressor implements Compressor {
  readonly name = 'none';
  constructor(private readonly valueBits: number) {}

  compress({ update }: CompressInput): CompressOutput {
    const out: WeightMap = {};
    let n = 0;
    for (const [k, v] of Object.entries(update)) { out[k] = { shape: v.shape.slice(), data: Float32Array.from(v.data) }; n += v.data.length; }
    copyDense(update, out);
    return { update: out, bits: HEADER_BITS + n * this.valueBits, flops: 0 };
  }
}
