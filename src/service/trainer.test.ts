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

  it('leaks no tensors: the count after a warm-up round stays flat', () => {
    for (const method of ['none', 'soft', 'svd'] as const) {
      const t = buildTrainer(small({ compression: { method }, soft: { lambda: 0.01 } }), root);
      t.runRound();
      const n = tf.memory().numTensors;
      t.runRound(); t.runRound();
      expect(tf.memory().numTensors, method).toBe(n);
      t.dispose();
    }
  });

  it('drops a diverging client (NaN/Inf) and keeps the global model finite, or fails when asked', () => {
    const t = buildTrainer(small({ train: { optimizer: 'sgd', lr: 1e30, momentum: 0 } }), root);
    const m = t.runRound();
    expect(m.droppedClients).toEqual(expect.arrayContaining([expect.any(Number)]));
    // per-client arrays cover every sampled client (it still computed and uploaded); dropped ones are listed
    expect(m.clientIds.length).toBe(2);
    for (const k of m.droppedClients as number[]) expect(m.clientIds).toContain(k);
    for (const w of Object.values(t.state.global)) expect(w.data.every(Number.isFinite)).toBe(true);
    t.dispose();
    const f = buildTrainer(small({ train: { optimizer: 'sgd', lr: 1e30, momentum: 0, onDivergence: 'fail' } }), root);
    expect(() => f.runRound()).toThrow(DivergenceError);
    f.dispose();
  });

  it('validates compression.k against the model and rejects compression without LoRA', () => {
    expect(() => buildTrainer(small({ compression: { method: 'topk', k: 10_000_000 } }), root)).toThrow(/compression\.k: must be <= \d+/);
    expect(() => buildTrainer(small({ compression: { method: 'soft' }, train: { mode: 'head-only' } }), root)).toThrow(/compression\.method/);
  });
});
