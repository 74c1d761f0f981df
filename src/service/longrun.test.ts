/**
 * Long runs stay flat (issue: nothing lost, item 8): the tfjs tensor count over 50 training
 * rounds after a warm-up round, and memory over 500 rounds of the simulate path.
 */
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend';
import { parseConfig, resolved } from '../engine/config';
import { RoundClock } from '../engine/control/clock';
import { newSimState, simulateRound } from '../engine/control/simulate';
import { buildTrainer } from './runner';
import { clockInputs } from './clock/inputs';

const root = path.resolve(__dirname, '../..');

/** A full garbage collection, without starting node with --expose-gc. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('long runs', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('50 rounds of tsfa + SOFT training: tensor count flat after the warm-up round, live memory flat after round 11', async () => {
    const cfg = parseConfig({
      backend: 'wasm', data: { trainSamples: 200, testSamples: 64 }, train: { localSteps: 1, batchSize: 16 },
      federation: { numClients: 4, clientsPerRound: 2, rounds: 51 }, eval: { every: 10, batchSize: 64 },
      compression: { method: 'soft' }, soft: { lambda: 0.01 }, channel: { bandwidthHz: 3e4 },
      control: { method: 'tsfa', latencyBudgetS: 5 },
    });
    const t = await buildTrainer(cfg, root);
    await t.runRound();
    const n = tf.memory().numTensors;
    const counts: number[] = [];
    // live memory after a full GC: the JS heap plus external memory (the wasm heap, typed arrays).
    // RSS itself keeps freed pages and grows until the allocator settles, so it is only bounded loosely.
    const live = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.external; };
    let live10 = 0;
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 50; i++) {
      await t.runRound();
      counts.push(tf.memory().numTensors);
      if (i === 9) live10 = live(); // after round 11: a training round and an evaluation (round 10) seen
    }
    expect(new Set(counts)).toEqual(new Set([n]));
    expect(live() - live10).toBeLessThan(16 * 2 ** 20);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 2 ** 20);
    t.dispose();
  });

  it('500 rounds of the simulate path: controller state and heap stay bounded', () => {
    const cfg = resolved(parseConfig({ compression: { method: 'soft' }, channel: { bandwidthHz: 1e5 }, control: { method: 'tsfa', latencyBudgetS: 3.2 }, federation: { rounds: 600 } }));
    const lm = new RoundClock({ config: cfg, ...clockInputs(cfg, root) });
    const st = newSimState();
    const src = { kind: 'synthetic' as const, seed: 0, decay: 1, noise: 0.3 };
    for (let i = 0; i < 100; i++) simulateRound(lm, st, src, 8);
    const heap0 = process.memoryUsage().heapUsed, size0 = JSON.stringify(st).length;
    for (let i = 0; i < 500; i++) simulateRound(lm, st, src, 8);
    // one importance tail per client, never more: the state does not grow with rounds
    expect(Object.keys(st.control.tails).length).toBeLessThanOrEqual(cfg.federation.numClients);
    expect(JSON.stringify(st).length).toBeLessThan(size0 * 1.2);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(50 * 2 ** 20);
  });
});
