/** Model input: images to ViT patch rows. */
import type { ImageDataset, PatchedDataset } from '../data/types';
import type { ModelSpec, VitSpec } from './types';
import { numPatches } from './vit';

/** NHWC images [n, size, size, c] -> patch rows [n * numPatches, patch * patch * c], row-major patches. */
export function patchify(x: Float32Array, n: number, spec: VitSpec): Float32Array {
  const { imageSize: S, patchSize: P, channels: C } = spec;
  const g = S / P, pd = P * P * C;
  const out = new Float32Array(n * g * g * pd);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const base = i * S * S * C;
    for (let py = 0; py < g; py++) {
      for (let px = 0; px < g; px++) {
        for (let y = 0; y < P; y++) {
          const row = base + ((py * P + y) * S + px * P) * C;
          for (let k = 0; k < P * C; k++) out[o++] = x[row + k];
        }
      }
    }
  }
  return out;
}

/** A whole dataset as patch rows in [0, 1], or (p/255 - mean[c]) / std[c] when the spec sets pixelMean/pixelStd (done once; batches then copy rows). */
export function patchDataset(ds: ImageDataset, spec: ModelSpec, limit = ds.n): PatchedDataset {
  if (spec.arch !== 'vit') throw new Error(`data: an image dataset needs an image model, the model is a ${spec.arch} model`);
  if (ds.height !== spec.imageSize || ds.width !== spec.imageSize || ds.channels !== spec.channels) {
    throw new Error(`data: images are ${ds.height}x${ds.width}x${ds.channels}, the model expects ${spec.imageSize}x${spec.imageSize}x${spec.channels}`);
  }
  const n = Math.min(limit, ds.n);
  const per = ds.height * ds.width * ds.channels;
  const x = new Float32Array(n * per);
  const { pixelMean: mean, pixelStd: std } = spec;
  if (mean && std) {
    const C = ds.channels;
    for (let i = 0; i < n * per; i++) x[i] = (ds.pixels[i] / 255 - mean[i % C]) / std[i % C];
  } else for (let i = 0; i < n * per; i++) x[i] = ds.pixels[i] / 255;
  return { x: patchify(x, n, spec), y: ds.labels.slice(0, n), n, rowLen: per, numPatches: numPatches(spec), numClasses: ds.numClasses };
}
