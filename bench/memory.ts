/**
 * `npm run bench -- memory`: RSS and tensor count with 100 clients that have all trained (every
 * client holds its optimizer state and error-feedback residual), on the shipped model and data.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend';
import { parseConfig } from '../src/engine/config';
import { buildTrainer } from '../src/service/runner';

export interface MemoryBenchResult { clients: number; rounds: number; rssMiB: number; heapMiB: number; baselineRssMiB: number; perClientKiB: number; numTensors: number; numTensorsAfterWarmup: number; backend: string }

export async function benchMemory(opts: { json?: boolean; backend?: string } = {}): Promise<MemoryBenchResult> {
  const backend = await initBackend((opts.backend ?? 'auto') as never);
  const config = parseConfig({
    backend: backend.name, compression: { method: 'soft', rho: 0.25 },
    federation: { numClients: 100, clientsPerRound: 100, rounds: 2, partition: { method: 'dirichlet', alpha: 0.5 } },
    train: { localSteps: 1 }, data: { testSamples: 256 },
  });
  const trainer = await buildTrainer(config, path.resolve('.'));
  global.gc?.();
  const baselineRssMiB = process.memoryUsage().rss / 2 ** 20;
  await trainer.runRound();
  const warm = tf.memory().numTensors;
  await trainer.runRound();
  global.gc?.();
  const mu = process.memoryUsage();
  const stateBytes = Object.values(trainer.state.clientOpt).reduce((s, o) => s + [...Object.values(o.m), ...Object.values(o.v)].reduce((a, d) => a + d.byteLength, 0), 0)
    + Object.values(trainer.state.clientResidual).reduce((s, r) => s + Object.values(r).reduce((a, t) => a + t.data.byteLength, 0), 0);
  const res: MemoryBenchResult = {
    clients: 100, rounds: 2, rssMiB: mu.rss / 2 ** 20, heapMiB: mu.heapUsed / 2 ** 20, baselineRssMiB,
    perClientKiB: stateBytes / 100 / 1024, numTensors: tf.memory().numTensors, numTensorsAfterWarmup: warm, backend: backend.name,
  };
  trainer.dispose();
  process.stdout.write(`100 clients (all trained, SOFT with error feedback), backend ${res.backend}:\n`
    + `  RSS ${res.rssMiB.toFixed(0)} MiB (before training ${res.baselineRssMiB.toFixed(0)} MiB), JS heap ${res.heapMiB.toFixed(0)} MiB\n`
    + `  per-client state ${res.perClientKiB.toFixed(1)} KiB (optimizer moments + residual)\n`
    + `  tensors: ${res.numTensorsAfterWarmup} after round 1, ${res.numTensors} after round 2\n`);
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'memory', ...res }) + '\n');
  return res;
}
