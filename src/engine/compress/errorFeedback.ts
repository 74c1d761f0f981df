/**
 * Error feedback (Seide et al. 2014; Karimireddy et al. 2019, EF-SGD) as a wrapper around any
 * factor-space compressor: the client adds its residual to the update before compressing and keeps
 * what was not sent as the next residual, so sent + residual == update + previous residual.
 */
import type { WeightMap } from '../model/types';
import { addScaledInPlace, cloneWeights, subtractWeights } from '../model/weights';
import type { CompressInput, CompressOutput, Compressor, MessageCost, MessageShape } from './types';

export class ErrorFeedback implements Compressor {
  readonly name: string;
  constructor(private readonly inner: Compressor) { this.name = inner.name; }

  /** Compress with the client's residual; returns the output and the new residual. */
  compressWithResidual(input: CompressInput, residual: WeightMap | undefined): { out: CompressOutput; residual: WeightMap; corrected: WeightMap } {
    const corrected = cloneWeights(input.update);
    if (residual) addScaledInPlace(corrected, residual);
    const out = this.inner.compress({ ...input, update: corrected });
    const next = subtractWeights(corrected, out.update);
    for (const k of Object.keys(next)) if (!k.includes('.lora_')) next[k].data.fill(0); // the head is sent whole
    return { out, residual: next, corrected };
  }

  compress(input: CompressInput): CompressOutput { return this.inner.compress(input); }

  cost(shape: MessageShape, rho: number): MessageCost { return this.inner.cost(shape, rho); }
}
