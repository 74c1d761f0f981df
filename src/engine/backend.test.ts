import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';

describe('wasm backend: buffer-sharing Identity and same-dtype Cast', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('clone and same-dtype cast share the buffer safely; other casts still convert', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1.5, -2.25, 3]);
    const c = tf.clone(x), f = tf.cast(x, 'float32'), i = tf.cast(x, 'int32');
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2.25, 3]);
    expect(Array.from(f.dataSync())).toEqual([1.5, -2.25, 3]);
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    c.dispose();
    expect(Array.from(f.dataSync())).toEqual([1.5, -2.25, 3]);
    f.dispose(); i.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a variable assigned from a clone keeps its value when the source is disposed', () => {
    const v = tf.variable(tf.zeros([3]));
    const src = tf.tensor1d([4, 5, 6]);
    v.assign(tf.clone(src));
    src.dispose();
    expect(Array.from(v.dataSync())).toEqual([4, 5, 6]);
    v.dispose();
  });
});

describe('wasm backend: shared Identity/Cast give bit-identical gradients', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('matches the stock copying kernels exactly', async () => {
    const { gelu, layerNorm, matMulPlain } = await import('./model/ops');
    const { identityConfig } = await import('@tensorflow/tfjs-backend-wasm/dist/kernels/Identity');
    const { castConfig } = await import('@tensorflow/tfjs-backend-wasm/dist/kernels/Cast');
    const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.7);
    const x = tf.tensor2d(rnd(24 * 16, 1), [24, 16]);
    const w = tf.variable(tf.tensor2d(rnd(16 * 8, 2), [16, 8]));
    const g = tf.tensor1d(rnd(16, 3)), b = tf.tensor1d(rnd(16, 4));
    const grads = () => {
      const { value, grads: gr } = tf.variableGrads(() => tf.mean(tf.softmax(gelu(matMulPlain(layerNorm(x, g, b), w)))) as tf.Scalar, [w]);
      const out = [value.dataSync()[0], ...gr[w.name].dataSync()];
      value.dispose(); gr[w.name].dispose();
      return out;
    };
    const shared = grads();
    const sharedCfg = [tf.getKernel('Identity', 'wasm')!, tf.getKernel('Cast', 'wasm')!];
    try {
      for (const c of [identityConfig, castConfig]) { tf.unregisterKernel(c.kernelName, 'wasm'); tf.registerKernel(c); }
      expect(grads()).toEqual(shared);
    } finally {
      for (const c of sharedCfg) { tf.unregisterKernel(c.kernelName, 'wasm'); tf.registerKernel(c); }
    }
    x.dispose(); w.dispose(); g.dispose(); b.dispose();
  });
});
