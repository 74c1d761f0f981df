/**
 * Bounds on a model's architecture numbers, checked before anything is built from them: a model
 * file's spec (our `fedlora.spec` metadata, or what a timm/HF name map read from the shapes) is
 * input like any other. Unchecked, `patchSize: 0` loops forever (S/P is Infinity), `depth: 1e6`
 * allocates gigabytes of tensor names, `dim: -64` fails late inside a typed array. Every field must be
 * an integer in its range (SPEC_LIMITS), the heads divide dim, the patch divides the image, the
 * total parameter count stays within MAX_PARAMETERS, and, given the weights, every tensor the model
 * reads (vitShapes / textShapes: exactly the names EncoderLora loads) is there with its shape.
 * Pure: returns the problems (empty when fine); callers prefix the file (docs/models.md).
 */
import { textShapes } from './text';
import type { ModelSpec, WeightMap } from './types';
import { vitShapes } from './vit';

/** Largest accepted value of each architecture number (generous: BERT-Large and ViT-Huge fit). */
export const SPEC_LIMITS = {
  imageSize: 4096, patchSize: 4096, dim: 8192, depth: 256, mlpDim: 65536, numClasses: 100_000,
  vocabSize: 1_000_000, maxLen: 8192,
  /** Tokens a ViT attends over: (imageSize / patchSize)^2 patches (224 / 16 -> 196; 512 / 8 -> 4096). */
  patches: 4096,
} as const;

/** Most parameters a model may have (500M: 2 GB of float32 weights; BERT-Large is 340M). */
export const MAX_PARAMETERS = 500_000_000;

const show = (v: unknown) => typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : typeof v === 'number' || typeof v === 'boolean' || v == null ? String(v) : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Problems of a spec (and, given them, its weights); empty when the model can be built from it. */
export function checkModelSpec(spec: unknown, weights?: WeightMap): string[] {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return [`spec must be a JSON object with "arch", got ${show(spec)}`];
  const s = spec as Record<string, unknown>;
  if (s.arch !== 'vit' && s.arch !== 'text') return [`spec.arch must be "vit" or "text", got ${show(s.arch)}`];
  const out: string[] = [];
  /** An integer in [min, max]; with `divides`, one dividing that other field's value (max is then that value). */
  const int = (name: string, min: number, max: number, divides?: string) => {
    const v = s[name];
    const ok = isInt(v) && v >= min && v <= max && (!divides || max % v === 0);
    if (!ok) out.push(`spec.${name} must be an integer ${divides ? `>= ${min} dividing ${divides} ${max}` : `in ${min}..${max}`}, got ${show(v)}`);
    return ok;
  };
  int('depth', 1, SPEC_LIMITS.depth);
  int('mlpDim', 1, SPEC_LIMITS.mlpDim);
  int('numClasses', 1, SPEC_LIMITS.numClasses);
  if (int('dim', 1, SPEC_LIMITS.dim)) {
    int('heads', 1, s.dim as number, 'dim');
  } else if (!isInt(s.heads) || (s.heads as number) < 1) out.push(`spec.heads must be an integer >= 1 dividing dim, got ${show(s.heads)}`);
  if (s.layerNormEps !== undefined && !(typeof s.layerNormEps === 'number' && s.layerNormEps > 0 && s.layerNormEps < 1)) {
    out.push(`spec.layerNormEps must be a number in (0, 1) when given, got ${show(s.layerNormEps)}`);
  }
  if (s.arch === 'vit') {
    const channelsOk = s.channels === 1 || s.channels === 3;
    if (!channelsOk) out.push(`spec.channels must be 1 (grayscale) or 3 (RGB), got ${show(s.channels)}`);
    if (int('imageSize', 1, SPEC_LIMITS.imageSize)) {
      const size = s.imageSize as number;
      if (int('patchSize', 1, size, 'imageSize')) {
        const patches = (size / (s.patchSize as number)) ** 2;
        if (patches > SPEC_LIMITS.patches) out.push(`spec.imageSize / spec.patchSize gives ${patches} patches, more than the ${SPEC_LIMITS.patches} accepted; use a larger patchSize`);
      }
    } else if (!isInt(s.patchSize) || (s.patchSize as number) < 1) out.push(`spec.patchSize must be an integer >= 1 dividing imageSize, got ${show(s.patchSize)}`);
    for (const k of ['pixelMean', 'pixelStd'] as const) {
      const a = s[k];
      if (a === undefined) continue;
      const positive = k === 'pixelStd';
      if (!Array.isArray(a) || (channelsOk && a.length !== s.channels) || !a.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
        out.push(`spec.${k} must be an array of ${channelsOk ? s.channels : 'one per channel'} finite numbers${positive ? ' > 0' : ''} when given, got ${show(a)}`);
      }
    }
  } else {
    if (int('vocabSize', 1, SPEC_LIMITS.vocabSize)) int('padId', 0, (s.vocabSize as number) - 1);
    if (int('maxLen', 1, SPEC_LIMITS.maxLen)) int('seqLen', 1, s.maxLen as number);
    if (s.norm !== 'pre' && s.norm !== 'post') out.push(`spec.norm must be "pre" or "post", got ${show(s.norm)}`);
    if (s.pooling !== 'cls' && s.pooling !== 'mean') out.push(`spec.pooling must be "cls" or "mean", got ${show(s.pooling)}`);
    if (typeof s.pooler !== 'boolean') out.push(`spec.pooler must be true or false, got ${show(s.pooler)}`);
  }
  if (out.length) return out; // the numbers are in range from here on: shapes are small to compute
  const m = spec as ModelSpec;
  const shapes = m.arch === 'vit' ? vitShapes(m) : textShapes(m);
  let params = 0;
  for (const shape of Object.values(shapes)) params += shape.reduce((a, b) => a * b, 1);
  if (params > MAX_PARAMETERS) return [`the spec gives ${params} parameters, more than the ${MAX_PARAMETERS} accepted (dim ${m.dim}, depth ${m.depth}, mlpDim ${m.mlpDim})`];
  if (weights) out.push(...checkWeights(shapes, weights));
  return out;
}

/** Every tensor the model reads, present with its shape and as much data (the first 5 problems, then a count). */
function checkWeights(shapes: Record<string, number[]>, weights: WeightMap): string[] {
  const out: string[] = [];
  for (const [name, shape] of Object.entries(shapes)) {
    const w = Object.hasOwn(weights, name) ? weights[name] : undefined;
    const size = shape.reduce((a, b) => a * b, 1);
    if (!w) out.push(`missing tensor "${name}" (the spec needs shape [${shape}])`);
    else if (!Array.isArray(w.shape) || w.shape.join(',') !== shape.join(',')) out.push(`tensor "${name}" has shape [${w.shape}], the spec needs [${shape}]`);
    else if (!(w.data instanceof Float32Array) || w.data.length !== size) out.push(`tensor "${name}" holds ${w.data?.length} values, its shape [${shape}] needs ${size}`);
  }
  return out.length > 5 ? [...out.slice(0, 5), `... and ${out.length - 5} more tensor problems`] : out;
}
