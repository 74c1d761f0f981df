import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Rng } from '../rng';
import { createModel, trainableShapes } from './index';
import { initTextWeights, TextLora } from './text';
import type { TextSpec } from './types';

const spec: TextSpec = { arch: 'text', vocabSize: 20, maxLen: 8, seqLen: 6, padId: 0, dim: 16, depth: 2, heads: 2, mlpDim: 32, numClasses: 3, norm: 'pre', pooling: 'mean', pooler: false };
const lora = { rank: 2, alpha: 4, targets: ['q', 'v', 'fc2'] };

/** Token rows [n * T, 1]: each sample has `len` random tokens (ids >= 1), then padding. */
function tokens(lens: number[], T: number, seed: number): tf.Tensor2D {
  const r = new Rng(`t${seed}`);
  const ids = new Float32Array(lens.length * T);
  lens.forEach((len, i) => { for (let j = 0; j < len; j++) ids[i * T + j] = 1 + r.int(19); });
  return tf.tensor2d(ids, [lens.length * T, 1]);
}

async function withRandomB(m: TextLora): Promise<void> {
  const tr = await m.getTrainable(); const r = new Rng('b');
  for (const [name, w] of Object.entries(tr)) if (name.endsWith('lora_b')) w.data.set(r.normalArray(w.data.length, 0.3));
  m.setTrainable(tr);
}

describe('TextLora', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('adapted forward equals forward with merged weights, for pre/post norm and cls/mean pooling', async () => {
    for (const variant of [{ norm: 'pre', pooling: 'mean', pooler: false }, { norm: 'post', pooling: 'cls', pooler: true }] as const) {
      const s = { ...spec, ...variant };
      const base = initTextWeights(s, new Rng('base'));
      const m = new TextLora(s, base, lora, 'lora', new Rng('init'));
      await withRandomB(m);
      const merged = new TextLora(s, await m.mergedWeights(), lora, 'head-only', new Rng('u'));
      const plain = new TextLora(s, base, lora, 'head-only', new Rng('u'));
      const x = tokens([6, 3, 1], 6, 1);
      const ya = m.forward(x, 3).arraySync().flat(), yb = merged.forward(x, 3).arraySync().flat(), y0 = plain.forward(x, 3).arraySync().flat();
      for (let i = 0; i < ya.length; i++) expect(ya[i]).toBeCloseTo(yb[i], 4);
      expect(Math.max(...ya.map((v, i) => Math.abs(v - y0[i])))).toBeGreaterThan(1e-2);
      for (const mm of [m, merged, plain]) mm.dispose();
      x.dispose();
    }
  });

  it('padding is invisible: the same text padded to 4 or 6 tokens gives the same logits', () => {
    for (const pooling of ['mean', 'cls'] as const) {
      const s = { ...spec, pooling };
      const m = new TextLora(s, initTextWeights(s, new Rng('base')), lora, 'lora', new Rng('init'));
      const short = tokens([3, 2], 4, 5);
      const ids = short.dataSync();
      const long = tf.tensor2d(Float32Array.from([...ids.slice(0, 4), 0, 0, ...ids.slice(4, 8), 0, 0]), [12, 1]);
      const a = m.forward(short, 2).arraySync().flat(), b = m.forward(long, 2).arraySync().flat();
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
      m.dispose(); short.dispose(); long.dispose();
    }
  });

  it('trains adapters and head in lora mode (trainableShapes agrees), and every weight incl. the embedding in full mode', () => {
    const base = initTextWeights(spec, new Rng('base'));
    const m = createModel(spec, base, lora, 'lora', new Rng('init'));
    const shapes = trainableShapes(spec, lora, 'lora');
    expect(m.trainableNames().sort()).toEqual(Object.keys(shapes).sort());
    expect(m.trainableNames().filter((n) => !n.includes('lora_'))).toEqual(['head.w', 'head.b']);
    m.dispose();
    const full = createModel(spec, base, lora, 'full', new Rng('init'));
    const x = tokens([5, 2], 6, 3);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(full.forward(x, 2))) as tf.Scalar);
    const g = grads[full.vars.get('tok_emb')!.name];
    expect(g.shape).toEqual([20, 16]);
    expect(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
    value.dispose();
    Object.values(grads).forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
    full.dispose(); x.dispose();
  });

  it('rejects inconsistent specs and wrong input shapes with the problem named', () => {
    const base = initTextWeights(spec, new Rng('base'));
    expect(() => new TextLora({ ...spec, heads: 3 }, base, lora, 'lora', new Rng('i'))).toThrow(/dim 16 is not divisible by heads 3/);
    expect(() => new TextLora({ ...spec, seqLen: 9 }, base, lora, 'lora', new Rng('i'))).toThrow(/seqLen 9 must be in 1\.\.maxLen \(8\)/);
    const m = new TextLora(spec, base, lora, 'lora', new Rng('i'));
    const x = tf.zeros([18, 1]) as tf.Tensor2D;
    expect(() => m.forward(x, 2)).toThrow(/T <= 8/);
    m.dispose(); x.dispose();
  });
});
