import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Rng } from '../rng';
import { detectFormat, fromHfBert, fromTimmVit, toHfBert, toTimmVit } from './checkpoints';
import { createModel } from './index';
import { encodeSafetensors, parseSafetensors } from './safetensors';
import { initTextWeights } from './text';
import type { LoraModel, TextSpec, VitSpec, WeightMap } from './types';
import { initVitWeights, numPatches } from './vit';

const noLora = { rank: 1, alpha: 1, targets: [] };
const vitSpec: VitSpec = { arch: 'vit', imageSize: 8, channels: 3, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpDim: 32, numClasses: 5, layerNormEps: 1e-6 };
const bertSpec: TextSpec = { arch: 'text', vocabSize: 30, maxLen: 12, seqLen: 8, padId: 0, dim: 16, depth: 2, heads: 2, mlpDim: 24, numClasses: 3, norm: 'post', pooling: 'cls', pooler: true, layerNormEps: 1e-12 };

/** Non-trivial gains and biases (initWeights sets them to 1 and 0, which would hide swapped names). */
function jitter(w: WeightMap, seed: string): WeightMap {
  const r = new Rng(seed);
  for (const [name, t] of Object.entries(w)) if (name.endsWith('.g') || name.endsWith('.b')) t.data.set(r.normalArray(t.data.length, 0.2).map((v) => v + (name.endsWith('.g') ? 1 : 0)));
  return w;
}

/** Write a checkpoint the way a user would get one, and read it back through the parser. */
const roundTrip = (t: WeightMap, meta: Record<string, string> = {}) => parseSafetensors(encodeSafetensors(t, meta), 'ckpt.safetensors', { nonFloat: 'skip' });

function logits(m: LoraModel, x: tf.Tensor2D, batch: number): number[] {
  return tf.tidy(() => Array.from(m.forward(x, batch).dataSync()));
}

/** Hand-made safetensors with one tensor of any dtype (the encoder only writes F32). */
function rawTensorFile(name: string, dtype: string, shape: number[], bytes: number): Uint8Array {
  const hb = new TextEncoder().encode(JSON.stringify({ [name]: { dtype, shape, data_offsets: [0, bytes] } }));
  const out = new Uint8Array(8 + hb.length + bytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  return out;
}

describe('checkpoint name maps', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('a timm-named ViT checkpoint gives the same logits as the same weights set directly', () => {
    const ours = jitter(initVitWeights(vitSpec, new Rng('w')), 'j');
    const file = roundTrip(toTimmVit(vitSpec, ours));
    expect(Object.keys(file.tensors)).toContain('blocks.1.attn.qkv.weight');
    expect(detectFormat(Object.keys(file.tensors), file.metadata)).toBe('timm-vit');
    const conv = fromTimmVit(file.tensors, 'ckpt.safetensors', { heads: 2 });
    expect(conv.spec).toEqual(vitSpec);
    expect(conv.ignored).toEqual([]);
    const x = tf.tensor2d(new Rng('x').normalArray(2 * numPatches(vitSpec) * 48), [2 * numPatches(vitSpec), 48]);
    const direct = createModel(vitSpec, ours, noLora, 'head-only', new Rng('i'));
    const loaded = createModel(conv.spec, conv.weights, noLora, 'head-only', new Rng('i'));
    expect(logits(loaded, x, 2)).toEqual(logits(direct, x, 2));
    direct.dispose(); loaded.dispose(); x.dispose();
  });

  it('a HF BERT-named checkpoint gives the same logits as the same weights set directly', () => {
    const ours = jitter(initTextWeights(bertSpec, new Rng('w')), 'j');
    const hf = toHfBert(bertSpec, ours);
    hf['bert.embeddings.position_ids'] = { shape: [1, 12], data: new Float32Array(12) }; // a buffer the map does not use: reported
    const bytes = encodeSafetensors(hf);
    const file = parseSafetensors(bytes, 'bert.safetensors', { nonFloat: 'skip' });
    expect(detectFormat(Object.keys(file.tensors), file.metadata)).toBe('hf-bert');
    const conv = fromHfBert(file.tensors, 'bert.safetensors', { heads: 2, seqLen: 8 });
    expect(conv.spec).toEqual(bertSpec);
    expect(conv.ignored).toEqual(['bert.embeddings.position_ids']);
    const ids = new Float32Array(16);
    [5, 9, 2, 14, 3].forEach((v, i) => { ids[i] = v; });
    [7, 7, 1].forEach((v, i) => { ids[8 + i] = v; });
    const x = tf.tensor2d(ids, [16, 1]);
    const direct = createModel(bertSpec, ours, noLora, 'head-only', new Rng('i'));
    const loaded = createModel(conv.spec, conv.weights, noLora, 'head-only', new Rng('i'));
    expect(logits(loaded, x, 2)).toEqual(logits(direct, x, 2));
    direct.dispose(); loaded.dispose(); x.dispose();
  });

  it('a d=192, 2-block ViT-Tiny-shaped checkpoint (3 heads by the 64-wide convention) loads and runs forward', () => {
    const spec: VitSpec = { arch: 'vit', imageSize: 32, channels: 3, patchSize: 16, dim: 192, depth: 2, heads: 3, mlpDim: 768, numClasses: 10, layerNormEps: 1e-6 };
    const file = roundTrip(toTimmVit(spec, initVitWeights(spec, new Rng('big'))));
    const conv = fromTimmVit(file.tensors, 'vit-tiny.safetensors');
    expect(conv.spec).toEqual(spec);
    const m = createModel(conv.spec, conv.weights, { rank: 4, alpha: 8, targets: ['q', 'v'] }, 'lora', new Rng('i'));
    const x = tf.tensor2d(new Rng('x').normalArray(2 * 4 * 768), [8, 768]);
    const y = logits(m, x, 2);
    expect(y.length).toBe(20);
    expect(y.every(Number.isFinite)).toBe(true);
    m.dispose(); x.dispose();
  });

  it('bad checkpoints: errors name the file, the tensor and the expected shape or dtype', () => {
    const ours = initVitWeights(vitSpec, new Rng('w'));
    const timm = toTimmVit(vitSpec, ours);
    const bad = { ...timm, 'blocks.1.attn.qkv.weight': { shape: [48, 8], data: new Float32Array(384) } };
    expect(() => fromTimmVit(roundTrip(bad).tensors, 'v.safetensors', { heads: 2 }))
      .toThrow(/v\.safetensors: tensor "blocks\.1\.attn\.qkv\.weight" has shape \[48,8\], expected \[48,16\] \(fused q, k, v/);
    const missing = { ...timm }; delete missing['blocks.0.norm2.bias'];
    expect(() => fromTimmVit(missing, 'v.safetensors', { heads: 2 })).toThrow(/missing tensor "blocks\.0\.norm2\.bias" \(expected shape \[16\]/);
    expect(() => fromTimmVit({ ...timm, dist_token: { shape: [1, 1, 16], data: new Float32Array(16) } }, 'deit.safetensors')).toThrow(/dist_token.*not supported/);
    expect(() => fromTimmVit({ ...timm, 'blocks.0.ls1.gamma': { shape: [16], data: new Float32Array(16) } }, 'deit3.safetensors')).toThrow(/deit3\.safetensors: "blocks\.0\.ls1\.gamma" found: layer scale/);
    expect(() => fromTimmVit(timm, 'v.safetensors', { heads: 3 })).toThrow(/dim 16 is not divisible by model\.heads 3/);
    expect(() => fromTimmVit(timm, 'v.safetensors')).toThrow(/not a multiple of 64; set model\.heads/);
    // a needed tensor stored as integers
    const hf = toHfBert(bertSpec, initTextWeights(bertSpec, new Rng('w')));
    const skipped = { 'bert.pooler.dense.bias': 'I64' };
    const noBias = { ...hf }; delete noBias['bert.pooler.dense.bias'];
    expect(() => fromHfBert(noBias, 'b.safetensors', { heads: 2, skipped })).toThrow(/tensor "bert\.pooler\.dense\.bias" has dtype I64; expected a float tensor .* of shape \[16\]/);
    const wrongFc = { ...hf, 'bert.encoder.layer.1.output.dense.weight': { shape: [24, 16], data: new Float32Array(384) } };
    expect(() => fromHfBert(wrongFc, 'b.safetensors', { heads: 2 })).toThrow(/"bert\.encoder\.layer\.1\.output\.dense\.weight" has shape \[24,16\], expected \[16,24\]/);
    // the parser: integer dtypes are an error unless skipped, truncated data is named
    const ints = rawTensorFile('position_ids', 'I64', [1, 4], 32);
    expect(() => parseSafetensors(ints, 'i.safetensors')).toThrow(/i\.safetensors: tensor "position_ids": dtype I64 not supported/);
    expect(parseSafetensors(ints, 'i.safetensors', { nonFloat: 'skip' }).skipped).toEqual({ position_ids: 'I64' });
    const bytes = encodeSafetensors(timm);
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 10), 'cut.safetensors')).toThrow(/cut\.safetensors: tensor ".*": data ends at byte \d+ but the file has \d+ data bytes \(truncated\?\)/);
  });
});
