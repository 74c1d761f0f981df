/**
 * The compressor registry (one line per compressor) and the measurements every compressor shares.
 * The config's `compression.method` values and fields, validation, the clock, the report notes and
 * the app's form options all come from here (docs/extending.md).
 */
import type { WeightMap } from '../model/types';
import { lookup } from '../plugin';
import { frobenius } from './linalg';
import { none } from './none';
import { randk } from './randk';
import { soft } from './soft';
import { factorProduct, subMat, svd } from './svd';
import { topk } from './topk';
import { qsgd } from './qsgd';
import type { CompressionSpec, CompressorDefinition, CompressOutput, Compressor, LoraLayer } from './types';

export * from './types';
export { ErrorFeedback } from './errorFeedback';

export const COMPRESSORS = [none, soft, topk, randk, svd, qsgd] as const satisfies readonly CompressorDefinition[];

export type CompressorName = (typeof COMPRESSORS)[number]['name'];

export const COMPRESSOR_NAMES = COMPRESSORS.map((d) => d.name) as [CompressorName, ...CompressorName[]];

export function compressorDef(name: string): CompressorDefinition {
  return lookup<CompressorDefinition>(COMPRESSORS, 'compressor', name);
}

/** The configured compressor (one per run: the trainer builds it and hands it to the clock). */
export function makeCompressor(spec: CompressionSpec): Compressor {
  return compressorDef(spec.method).create(spec);
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
