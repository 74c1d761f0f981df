/**
 * `npm run bench -- memory`: RSS and tensor count with 100 clients that have all trained (every
 * client holds its optimizer state and error-feedback residual), on the shipped model and data.
 * `--rounds N` (default 2) trains N rounds and prints the backend's tensor count and bytes after each
 * (on webgpu also the bytes held on the GPU), and their growth from round 2 to the last: a leak shows
 * as growth. `--clients N` (default 100; all train every round). `--spec JSON`: a random-weight ViT of
 * that shape instead of the shipped model (as `bench step --spec`), e.g. a small one for a long run
 * on a software GPU.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { randomModelFile } from '../src/service/data/resources';
import { stepSpec } from './step';
import { initBackend } from '../src/engine/backend';
import { parseConfig } from '../src/engine/config';
import { buildTrainer } from '../src/service/runner';

export interface MemoryRound { round: number; numTensors: number; numBytes: number; gpuBytes: number | null }

export interface MemoryBenchResult { clients: number; rounds: number; perRound: MemoryRound[]; growthAfterRound2: { tensors: number; bytes: number; gpuBytes: number | null }; rssMiB: number; heapMiB: number; baselineRssMiB: number; perClientKiB: number; numTensors: number; numTensorsAfterWarmup: number; backend: string }

export async function benchMemory(opts: { json?: boolean; backend?: string; rounds?: number; clients?: number; spec?: string } = {}): Promise<MemoryBenchResult> {
  const rounds = opts.rounds ?? 2, clients = opts.clients ?? 100;
  if (!Number.isInteger(rounds) || rounds < 2) throw new Error(`--rounds: must be an integer >= 2, got ${opts.rounds}`);
  if (!Number.isInteger(clients) || clients < 1) throw new Error(`--clients: must be an integer >= 1, got ${opts.clients}`);
  const model = opts.spec !== undefined ? { model: { name: randomModelFile('bench-memory', stepSpec(undefined, opts.spec).spec!, 'bench-memory') } } : {};
  const backend = await initBackend((opts.backend ?? 'auto') as never);
  const config = parseConfig({
    ...model, backend: backend.name, compression: { method: 'soft', rho: 0.25 },
    federation: { numClients: clients, clientsPerRound: clients, rounds, partition: { method: 'dirichlet', alpha: 0.5 } },
    train: { localSteps: 1 }, data: { testSamples: 256 },
  });
  const trainer = await buildTrainer(config, path.resolve('.'));
  global.gc?.();
  const baselineRssMiB = process.memoryUsage().rss / 2 ** 20;
  const perRound: MemoryRound[] = [];
  const sample = (round: number) => {
    const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    perRound.push({ round, numTensors: m.numTensors, numBytes: m.numBytes, gpuBytes: m.numBytesInGPU ?? null });
  };
  for (let r = 1; r <= rounds; r++) {
    await trainer.runRound();
    sample(r);
    if (rounds > 2) process.stderr.write(`round ${r}: ${perRound[r - 1].numTensors} tensors, ${perRound[r - 1].numBytes} bytes${perRound[r - 1].gpuBytes !== null ? `, ${perRound[r - 1].gpuBytes} on the GPU` : ''}\n`);
  }
  const [second, last] = [perRound[1], perRound[rounds - 1]];
  const growthAfterRound2 = {
    tensors: last.numTensors - second.numTensors, bytes: last.numBytes - second.numBytes,
    gpuBytes: last.gpuBytes === null || second.gpuBytes === null ? null : last.gpuBytes - second.gpuBytes,
  };
  global.gc?.();
  const mu = process.memoryUsage();
  const stateBytes = Object.values(trainer.state.clientOpt).reduce((s, o) => s + [...Object.values(o.m), ...Object.values(o.v)].reduce((a, d) => a + d.byteLength, 0), 0)
    + Object.values(trainer.state.clientResidual).reduce((s, r) => s + Object.values(r).reduce((a, t) => a + t.data.byteLength, 0), 0);
  const res: MemoryBenchResult = {
    clients, rounds, perRound, growthAfterRound2, rssMiB: mu.rss / 2 ** 20, heapMiB: mu.heapUsed / 2 ** 20, baselineRssMiB,
    perClientKiB: stateBytes / clients / 1024, numTensors: last.numTensors, numTensorsAfterWarmup: perRound[0].numTensors, backend: backend.name,
  };
  trainer.dispose();
  process.stdout.write(`${clients} clients (all trained, SOFT with error feedback), ${rounds} rounds, backend ${res.backend}:\n`
    + `  RSS ${res.rssMiB.toFixed(0)} MiB (before training ${res.baselineRssMiB.toFixed(0)} MiB), JS heap ${res.heapMiB.toFixed(0)} MiB\n`
    + `  per-client state ${res.perClientKiB.toFixed(1)} KiB (optimizer moments + residual)\n`
    + `  tensors: ${res.numTensorsAfterWarmup} after round 1, ${res.numTensors} after round ${rounds}\n`
    + `  growth from round 2 to round ${rounds}: ${growthAfterRound2.tensors} tensors, ${growthAfterRound2.bytes} bytes`
    + `${growthAfterRound2.gpuBytes !== null ? `, ${growthAfterRound2.gpuBytes} bytes on the GPU` : ''}\n`);
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'memory', ...res }) + '\n');
  return res;
}
