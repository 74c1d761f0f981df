import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng';
import { checkModelSpec, MAX_PARAMETERS, SPEC_LIMITS } from './specCheck';
import { initTextWeights, textShapes } from './text';
import type { TextSpec, VitSpec } from './types';
import { initVitWeights, vitShapes } from './vit';

const vit: VitSpec = { arch: 'vit', imageSize: 28, channels: 1, patchSize: 7, dim: 16, depth: 2, heads: 2, mlpDim: 32, numClasses: 5 };
const text: TextSpec = { arch: 'text', vocabSize: 30, maxLen: 12, seqLen: 8, padId: 0, dim: 16, depth: 2, heads: 2, mlpDim: 24, numClasses: 3, norm: 'pre', pooling: 'mean', pooler: false };

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const inRange = (v: unknown, lo: number, hi: number) => isInt(v) && v >= lo && v <= hi;
const params = (shapes: Record<string, number[]>) => Object.values(shapes).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);

/** Values at and beyond a bound, plus the hostile ones. */
const around = (bound: number) => fc.oneof(
  fc.constantFrom(bound - 1, bound, bound + 1, 0, 1, -1, -64, 2, 3, 7, NaN, Infinity, -Infinity, 1.5, 2 ** 53, 1e6, '7', null, undefined, true, [], {}),
  fc.integer({ min: -10, max: bound + 10 }),
  fc.double(),
);

/**
 * The fields a spec with one field changed should be blamed for, computed independently of
 * specCheck.ts: the rules of docs/models.md. `[]` and a parameter count over the limit means
 * the only problem is the parameter count.
 */
function expectedVit(s: VitSpec): string[] {
  const bad: string[] = [];
  for (const [k, hi] of [['depth', SPEC_LIMITS.depth], ['mlpDim', SPEC_LIMITS.mlpDim], ['numClasses', SPEC_LIMITS.numClasses]] as const) if (!inRange(s[k], 1, hi)) bad.push(k);
  if (!inRange(s.dim, 1, SPEC_LIMITS.dim)) bad.push('dim');
  if (!(isInt(s.heads) && s.heads >= 1) || (inRange(s.dim, 1, SPEC_LIMITS.dim) && s.dim % s.heads !== 0)) bad.push('heads');
  if (s.channels !== 1 && s.channels !== 3) bad.push('channels');
  const sizeOk = inRange(s.imageSize, 1, SPEC_LIMITS.imageSize);
  if (!sizeOk) bad.push('imageSize');
  if (!(isInt(s.patchSize) && s.patchSize >= 1 && (!sizeOk || s.imageSize % s.patchSize === 0))) bad.push('patchSize');
  else if (sizeOk && (s.imageSize / s.patchSize) ** 2 > SPEC_LIMITS.patches) bad.push('imageSize / spec.patchSize');
  return bad;
}

const blamed = (problems: string[]) => [...new Set(problems.map((p) => /^spec\.(\w+(?: \/ spec\.\w+)?)/.exec(p)?.[1] ?? (/parameters/.test(p) ? 'params' : p)))].sort();

describe('checkModelSpec: bounds of every architecture number', () => {
  it('the shipped-like specs and their weights pass', () => {
    expect(checkModelSpec(vit, initVitWeights(vit, new Rng('v')))).toEqual([]);
    expect(checkModelSpec(text, initTextWeights(text, new Rng('t')))).toEqual([]);
    expect(checkModelSpec({ ...text, norm: 'post', pooling: 'cls', pooler: true, layerNormEps: 1e-12 })).toEqual([]);
  });

  it('the issue\'s specs: patchSize 0, depth 1e6, dim -64 are named with the field, the rule and the value', () => {
    expect(checkModelSpec({ ...vit, patchSize: 0 })).toEqual(['spec.patchSize must be an integer >= 1 dividing imageSize 28, got 0']);
    expect(checkModelSpec({ ...vit, depth: 1e6 })).toEqual([`spec.depth must be an integer in 1..${SPEC_LIMITS.depth}, got 1000000`]);
    expect(checkModelSpec({ ...vit, dim: -64 })).toEqual([`spec.dim must be an integer in 1..${SPEC_LIMITS.dim}, got -64`]);
    expect(checkModelSpec({ ...vit, heads: 3 })).toEqual(['spec.heads must be an integer >= 1 dividing dim 16, got 3']);
    expect(checkModelSpec({ ...text, seqLen: 13 })).toEqual(['spec.seqLen must be an integer in 1..12, got 13']);
    expect(checkModelSpec({ ...text, padId: 30 })).toEqual(['spec.padId must be an integer in 0..29, got 30']);
    expect(checkModelSpec({ ...text, norm: 'sideways' })).toEqual(['spec.norm must be "pre" or "post", got "sideways"']);
    expect(checkModelSpec({ ...vit, pixelStd: [0] })).toEqual(['spec.pixelStd must be an array of 1 finite numbers > 0 when given, got an array']);
    expect(checkModelSpec({ ...vit, arch: 'resnet' })).toEqual(['spec.arch must be "vit" or "text", got "resnet"']);
    for (const v of [null, 3, 'vit', []]) expect(checkModelSpec(v)[0]).toMatch(/^spec must be a JSON object/);
  });

  it('a spec over the parameter limit is refused before any tensor is made', () => {
    const big: VitSpec = { ...vit, dim: 4096, heads: 64, depth: 64, mlpDim: 16384 };
    expect(params(vitShapes(big))).toBeGreaterThan(MAX_PARAMETERS);
    const t0 = Date.now();
    expect(checkModelSpec(big)).toEqual([expect.stringMatching(/^the spec gives \d+ parameters, more than the 500000000 accepted/)]);
    expect(Date.now() - t0).toBeLessThan(200);
    const vocab: TextSpec = { ...text, vocabSize: SPEC_LIMITS.vocabSize, dim: 1024, heads: 16 }; // 1.02G in the embedding alone
    expect(checkModelSpec(vocab)[0]).toMatch(/parameters, more than/);
  });

  it('property: a ViT spec with one field at or beyond its bound is blamed on exactly that field, quickly', () => {
    const fields = { imageSize: SPEC_LIMITS.imageSize, patchSize: 28, dim: SPEC_LIMITS.dim, depth: SPEC_LIMITS.depth, heads: 16, mlpDim: SPEC_LIMITS.mlpDim, numClasses: SPEC_LIMITS.numClasses, channels: 3 };
    const arb = fc.constantFrom(...(Object.keys(fields) as (keyof typeof fields)[])).chain((k) => fc.tuple(fc.constant(k), around(fields[k])));
    fc.assert(fc.property(arb, ([k, v]) => {
      const s = { ...vit, [k]: v } as VitSpec;
      const t0 = performance.now();
      const problems = checkModelSpec(s);
      expect(performance.now() - t0).toBeLessThan(2000); // a guard against building the model to check it (seconds), not a speed target: ~1 ms idle
      const want = expectedVit(s);
      if (want.length) expect(blamed(problems)).toEqual([...want].sort());
      else if (params(vitShapes(s)) > MAX_PARAMETERS) expect(blamed(problems)).toEqual(['params']);
      else expect(problems).toEqual([]);
      for (const p of problems) expect(p).toMatch(/got |parameters|patches, more than/);
    }), { numRuns: 600 });
  });

  it('property: text specs: vocabulary, positions, seqLen and padId at and beyond their bounds', () => {
    const fields = { vocabSize: SPEC_LIMITS.vocabSize, maxLen: SPEC_LIMITS.maxLen, seqLen: 12, padId: 29, dim: SPEC_LIMITS.dim, depth: SPEC_LIMITS.depth };
    const arb = fc.constantFrom(...(Object.keys(fields) as (keyof typeof fields)[])).chain((k) => fc.tuple(fc.constant(k), around(fields[k])));
    fc.assert(fc.property(arb, ([k, v]) => {
      const s = { ...text, [k]: v } as TextSpec;
      const want: string[] = [];
      if (!inRange(s.vocabSize, 1, SPEC_LIMITS.vocabSize)) want.push('vocabSize');
      else if (!inRange(s.padId, 0, s.vocabSize - 1)) want.push('padId');
      if (!inRange(s.maxLen, 1, SPEC_LIMITS.maxLen)) want.push('maxLen');
      else if (!inRange(s.seqLen, 1, s.maxLen)) want.push('seqLen');
      if (!inRange(s.dim, 1, SPEC_LIMITS.dim)) want.push('dim');
      else if (s.dim % 2 !== 0) want.push('heads');
      if (!inRange(s.depth, 1, SPEC_LIMITS.depth)) want.push('depth');
      const problems = checkModelSpec(s);
      if (want.length) expect(blamed(problems)).toEqual(want.sort());
      else if (params(textShapes(s)) > MAX_PARAMETERS) expect(blamed(problems)).toEqual(['params']);
      else expect(problems).toEqual([]);
    }), { numRuns: 400 });
  });

  it('with weights: every tensor the model reads must be there with the shape the spec implies', () => {
    const w = initVitWeights(vit, new Rng('v'));
    const { 'blocks.1.attn.q.w': _q, ...missing } = w;
    expect(checkModelSpec(vit, missing)).toEqual(['missing tensor "blocks.1.attn.q.w" (the spec needs shape [16,16])']);
    expect(checkModelSpec(vit, { ...w, pos: { shape: [16, 16], data: new Float32Array(256) } })).toEqual(['tensor "pos" has shape [16,16], the spec needs [17,16]']);
    expect(checkModelSpec(vit, { ...w, 'head.b': { shape: [5], data: new Float32Array(4) } })).toEqual(['tensor "head.b" holds 4 values, its shape [5] needs 5']);
    expect(checkModelSpec({ ...vit, depth: 3 }, w)).toHaveLength(6); // block 2's 16 tensors: 5 listed, then a count
    expect(checkModelSpec({ ...vit, depth: 3 }, w)[5]).toBe('... and 11 more tensor problems');
    expect(checkModelSpec(vit, { ...w, extra: { shape: [1], data: new Float32Array(1) } })).toEqual([]); // unused tensors are not an error
  });
});
