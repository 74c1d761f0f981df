import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend';
import { parseConfig } from '../engine/config';
import { buildTrainer } from './runner';
import { DivergenceError } from '../engine/fl/federated';

const root = path.resolve(__dirname, '../..');
const small = (over: Record<string, unknown>) => parseConfig({
  backend: 'wasm', data: { trainSamples: 400, testSamples: 100 },
  federation: { numClients: 4, clientsPerRound: 2, rounds: 4 }, ...over,
});

describe('FederatedTrainer', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('leaks no tensors: the count after a warm-up round stays flat', async () => {
    for (const method of ['none', 'soft', 'svd'] as const) {
      const t = await buildTrainer(small({ compression: { method }, soft: { lambda: 0.01 } }), root);
      await t.runRound();
      const n = tf.memory().numTensors;
      await t.runRound(); await t.runRound();
      expect(tf.memory().numTensors, method).toBe(n);
      t.dispose();
    }
  });

  it('drops a diverging client (NaN/Inf) and keeps the global model finite, or fails when asked', async () => {
    const t = await buildTrainer(small({ train: { optimizer: 'sgd', lr: 1e30, momentum: 0 } }), root);
    const m = await t.runRound();
    expect(m.droppedClients).toEqual(expect.arrayContaining([expect.any(Number)]));
    // per-client arrays cover every sampled client (it still computed and uploaded); dropped ones are listed
    expect(m.clientIds.length).toBe(2);
    for (const k of m.droppedClients as number[]) expect(m.clientIds).toContain(k);
    for (const w of Object.values(t.state.global)) expect(w.data.every(Number.isFinite)).toBe(true);
    t.dispose();
    const f = await buildTrainer(small({ train: { optimizer: 'sgd', lr: 1e30, momentum: 0, onDivergence: 'fail' } }), root);
    await expect(f.runRound()).rejects.toThrow(DivergenceError);
    f.dispose();
  });

  it('evaluated rounds carry per-class accuracy and the confusion matrix, consistent with testAcc', async () => {
    const t = await buildTrainer(small({}), root);
    const m = await t.runRound();
    const conf = m.confusion!, acc = m.classAcc!;
    expect(conf).toHaveLength(10);
    const total = conf.flat().reduce((a, x) => a + x, 0), diag = conf.reduce((a, row, c) => a + row[c], 0);
    expect(total).toBe(small({}).data.testSamples);
    expect(diag / total).toBe(m.testAcc);
    conf.forEach((row, c) => { const n = row.reduce((a, x) => a + x, 0); expect(acc[c]).toBe(n ? row[c] / n : null); });
    t.dispose();
  });

  it('validates compression.k against the model and rejects compression without LoRA', async () => {
    await expect(buildTrainer(small({ compression: { method: 'topk', k: 10_000_000 } }), root)).rejects.toThrow(/compression\.k: must be <= \d+/);
    await expect(buildTrainer(small({ compression: { method: 'soft' }, train: { mode: 'head-only' } }), root)).rejects.toThrow(/compression\.method/);
  });
});
