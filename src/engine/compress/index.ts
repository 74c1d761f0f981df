/** Compressor registry and the measurements every compressor shares. */
import type { WeightMap } from '../model/types';
import { frobenius } from './linalg';
import { NoCompressor } from './none';
import { RandKCompressor } from './randk';
import { SoftCompressor } from './soft';
import { factorProduct, subMat, SvdCompressor } from './svd';
import { TopKCompressor } from './topk';
import { Float16Values } from './quantize';
import type { CompressionSpec, CompressOutput, Compressor, LoraLayer } from './types';

export * from './types';
export { ErrorFeedback } from './errorFeedback';

export const COMPRESSORS = ['none', 'soft', 'topk', 'randk', 'svd'] as const;

function baseCompressor(spec: CompressionSpec): Compressor {
  switch (spec.method) {
    case 'none': return new NoCompressor(spec.valueBits);
    case 'soft': return new SoftCompressor(spec.valueBits, spec.importance);
    case 'topk': return new TopKCompressor(spec.valueBits);
    case 'randk': return new RandKCompressor(spec.valueBits);
    case 'svd': return new SvdCompressor(spec.valueBits);
  }
}

/** The configured compressor; with 16-bit values, what it sends is rounded to float16. */
export function makeCompressor(spec: CompressionSpec): Compressor {
  const c = baseCompressor(spec);
  return spec.valueBits === 16 ? new Float16Values(c) : c;
}

/** Whether the method sends factor deltas (error feedback applies) or product updates (svd). */
export function sendsFactors(method: CompressionSpec['method']): boolean {
  return method !== 'svd';
}

/**
 * Relative error of what was sent, over all LoRA layers: ||dW - dW_hat||_F / ||dW||_F with
 * dW = B'A' - BA the client's true product update. A measurement (not charged to the clock).
 */
export function relativeError(layers: LoraLayer[], global: WeightMap, update: WeightMap, out: CompressOutput): number {
  let num = 0, den = 0;
  for (const layer of layers) {
    const base = factorProduct(layer, global);
    const dW = subMat(factorProduct(layer, global, update), base);
    const hat = out.productUpdate?.[layer.name] ?? subMat(factorProduct(layer, global, out.update), base);
    num += frobenius(subMat(dW, hat)) ** 2;
    den += frobenius(dW) ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}
