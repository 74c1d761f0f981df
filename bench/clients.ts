/**
 * `npm run bench -- clients [--workers N] [--rounds N]`: throughput of client training with 1 vs N
 * worker threads on the quick preset's model and data (SOFT + tsfa, so compression and control
 * run too; rounds on one thread and on the workers alternate; the speed-up is in training samples
 * per second, as each round samples other clients with other shard sizes), and the round overhead: planning + compression + aggregation as a share of the round's
 * wall time (analysis measurements and evaluation reported apart).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/engine/backend';
import { parseConfig, resolved } from '../src/engine/config';
import type { RoundMetrics } from '../src/engine/fl/federated';
import { ClientWorkerPool } from '../src/service/clientPool';
import { buildTrainer } from '../src/service/runner';

export interface ClientsBenchResult {
  workers: number;
  /** Training samples processed per second of the train phase (each round samples other clients, with other shard sizes). */
  samplesPerSecond1: number;
  samplesPerSecondN: number;
  clientsPerSecond1: number;
  clientsPerSecondN: number;
  speedup: number;
  overheadShare: number;
  measureShare: number;
  evalShare: number;
  cores: number;
  loadavg: number;
}

const root = path.resolve(__dirname, '..');

export async function benchClients(opts: { workers?: number; rounds?: number; json?: boolean } = {}): Promise<ClientsBenchResult> {
  const workers = opts.workers ?? Math.max(2, os.cpus().length);
  const rounds = opts.rounds ?? 3;
  const backend = await initBackend('wasm');
  const cfg = resolved(parseConfig({
    backend: 'wasm', data: { trainSamples: 6000, testSamples: 500 }, lora: { rank: 8, targets: ['q', 'v'] },
    federation: { numClients: 20, clientsPerRound: 4 * workers, rounds: 2 + 2 * rounds }, compression: { method: 'soft' }, soft: { lambda: 0.01 },
    channel: { bandwidthHz: 1e5 }, control: { method: 'tsfa', latencyBudgetS: 50 },
  }));
  const trainer = await buildTrainer(cfg, root);
  const pool = await ClientWorkerPool.create(workers, trainer.workerInit(), backend.name);
  try {
    await trainer.runRoundWith(); // warm-up (kernels, caches) of this thread
    await trainer.runRoundWith(pool); // ... and of every worker
    const phase = (ms: RoundMetrics[], k: string) => ms.reduce((a, m) => a + (m.phaseMs as Record<string, number>)[k], 0);
    const one: RoundMetrics[] = [], many: RoundMetrics[] = [];
    // interleaved, so that a change in the machine's load hits both sides alike
    for (let r = 0; r < rounds; r++) { one.push(await trainer.runRoundWith()); many.push(await trainer.runRoundWith(pool)); }
    const clients = cfg.federation.clientsPerRound * rounds;
    const samples = (ms: RoundMetrics[]) => ms.reduce((a, m) => a + (m.clientSamples ?? []).reduce((x, y) => x + y, 0), 0);
    const t1 = phase(one, 'train') / 1000, tN = phase(many, 'train') / 1000;
    const s1 = samples(one) / t1, sN = samples(many) / tN;
    const c1 = clients / t1, cN = clients / tN;
    const wall = one.reduce((a, m) => a + m.wallMs, 0);
    const res: ClientsBenchResult = {
      workers, samplesPerSecond1: s1, samplesPerSecondN: sN, clientsPerSecond1: c1, clientsPerSecondN: cN, speedup: sN / s1,
      overheadShare: (phase(one, 'plan') + phase(one, 'compress') + phase(one, 'aggregate')) / wall,
      measureShare: phase(one, 'measure') / wall, evalShare: phase(one, 'eval') / wall,
      cores: os.cpus().length, loadavg: os.loadavg()[0],
    };
    if (opts.json) process.stdout.write(JSON.stringify(res) + '\n');
    else {
      process.stdout.write(`client training, ${cfg.federation.clientsPerRound} clients/round, ${rounds} rounds each way, ${res.cores} cores, load ${res.loadavg.toFixed(2)}\n`);
      process.stdout.write(`  1 thread:   ${s1.toFixed(0)} samples/s (${c1.toFixed(2)} clients/s)\n  ${workers} workers: ${sN.toFixed(0)} samples/s (${cN.toFixed(2)} clients/s)  x${res.speedup.toFixed(2)} in samples/s\n`);
      process.stdout.write(`round overhead (plan + compress + aggregate): ${(100 * res.overheadShare).toFixed(2)}% of the round; analysis measurements ${(100 * res.measureShare).toFixed(2)}%; evaluation ${(100 * res.evalShare).toFixed(1)}%\n`);
    }
    return res;
  } finally {
    trainer.dispose();
    await pool.close();
  }
}
