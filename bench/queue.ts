/**
 * `npm run bench -- queue [--rounds N] [--workers 1,2] [--json]`: the quick preset's client training
 * through Redis + BullMQ with 1 and 2 local `fedlora worker` processes against the local
 * single-thread run: clients per second of the train phase, the per-job overhead (serialise,
 * Redis round trip, deserialise, waiting) as a share of a client's training time, and the bytes
 * that travel per round. A throwaway redis-server on a free loopback port; each configuration's
 * first round (workers loading the model and data) is a warm-up and not counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { initBackend } from '../src/engine/backend';
import { parseConfig } from '../src/engine/config';
import type { RoundMetrics } from '../src/engine/fl/federated';
import { QueueClientPool } from '../src/service/queue/pool';
import { startRedis } from '../src/service/queue/testRedis';
import { CLI_NODE_ARGS } from '../src/service/workers';
import { parseQueueUrl } from '../src/service/queue/url';
import { buildTrainer } from '../src/service/runner';

const root = path.resolve(__dirname, '..');

export interface QueueBenchRow {
  /** 0: the local single-thread run. */
  workers: number;
  clientsPerSecond: number;
  /** Mean per client job: coordinator-side wall (round's train phase / jobs, with 1 worker the jobs run one after another), worker training alone. */
  jobMs: number;
  trainMs: number;
  /** Of the overhead, what the worker spends around training (schema check, decode, thread hand-over, encode); the rest is Redis/BullMQ and the coordinator. */
  workerSideMs: number | null;
  /** (jobMs - trainMs) / trainMs, measured with 1 worker; null for the local run and for 2 workers (jobs overlap). */
  overheadShare: number | null;
  bytesPerRound: number;
}

export interface QueueBenchResult { rounds: number; clientsPerRound: number; rows: QueueBenchRow[]; cores: number; loadavg: number }

function startWorker(url: string): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, [...CLI_NODE_ARGS, 'worker', '--queue', url], { cwd: root, env: { ...process.env, FEDLORA_BACKEND: 'wasm' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    proc.stderr!.on('data', (d) => { log += d; if (/ joined redis/.test(log)) resolve(); });
    proc.once('exit', (c) => reject(new Error(`worker exited (${c}): ${log.slice(-400)}`)));
  });
  return { proc, ready };
}

export async function benchQueue(opts: { rounds?: number; workers?: string; json?: boolean } = {}): Promise<QueueBenchResult> {
  const rounds = opts.rounds ?? 3;
  const counts = (opts.workers ?? '1,2').split(',').map(Number);
  const backend = await initBackend('wasm');
  const quick = JSON.parse(fs.readFileSync(path.join(root, 'configs/quick.json'), 'utf8'));
  const config = parseConfig({ ...quick, backend: 'wasm', seed: 5, federation: { ...quick.federation, rounds: rounds + 1 } });
  const rows: QueueBenchRow[] = [];
  const log = (s: string) => { if (!opts.json) process.stderr.write(s + '\n'); };

  // the local single-thread run (round 1 is a warm-up here too)
  {
    const trainer = await buildTrainer(config, root);
    const ms: RoundMetrics[] = [];
    for (let t = 0; t <= rounds; t++) ms.push(await trainer.runRound());
    trainer.dispose();
    const counted = ms.slice(1);
    const trainMsSum = counted.reduce((s, m) => s + (m.phaseMs as { train: number }).train, 0);
    const jobs = counted.reduce((s, m) => s + m.clientIds.length, 0);
    rows.push({ workers: 0, clientsPerSecond: jobs / (trainMsSum / 1000), jobMs: trainMsSum / jobs, trainMs: trainMsSum / jobs, workerSideMs: null, overheadShare: null, bytesPerRound: 0 });
    log(`local single thread: ${rows[0].clientsPerSecond.toFixed(3)} clients/s`);
  }

  const redis = await startRedis();
  try {
    for (const n of counts) {
      const ws = Array.from({ length: n }, () => startWorker(redis.url));
      try {
        await Promise.all(ws.map((w) => w.ready));
        const trainer = await buildTrainer(config, root);
        const pool = await QueueClientPool.open({ target: parseQueueUrl(redis.url), runId: `bench-queue-${n}-${Date.now()}`, config, rank: null, backend: backend.name });
        try {
          await trainer.runRoundWith(pool); // warm-up: the workers load the model and data
          const s0 = { ...pool.stats };
          const ms: RoundMetrics[] = [];
          for (let t = 0; t < rounds; t++) ms.push(await trainer.runRoundWith(pool));
          const jobs = pool.stats.jobs - s0.jobs;
          const trainPhase = ms.reduce((s, m) => s + (m.phaseMs as { train: number }).train, 0);
          const workerTrain = (pool.stats.trainMs - s0.trainMs) / jobs;
          const jobMs = trainPhase / jobs;
          rows.push({
            workers: n, clientsPerSecond: jobs / (trainPhase / 1000), jobMs, trainMs: workerTrain,
            workerSideMs: (pool.stats.workerMs - s0.workerMs - (pool.stats.trainMs - s0.trainMs)) / jobs,
            overheadShare: n === 1 ? (jobMs - workerTrain) / workerTrain : null,
            bytesPerRound: (pool.stats.bytesOut - s0.bytesOut + pool.stats.bytesIn - s0.bytesIn) / rounds,
          });
          log(`${n} worker process(es): ${rows[rows.length - 1].clientsPerSecond.toFixed(3)} clients/s`);
        } finally {
          await pool.close();
          trainer.dispose();
        }
      } finally {
        for (const w of ws) w.proc.kill('SIGKILL');
      }
    }
  } finally {
    await redis.stop();
  }
  const result: QueueBenchResult = { rounds, clientsPerRound: config.federation.clientsPerRound, rows, cores: os.cpus().length, loadavg: os.loadavg()[0] };
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    process.stdout.write(`quick preset, ${config.federation.clientsPerRound} clients per round, ${rounds} rounds counted (after 1 warm-up), ${result.cores} cores, load ${result.loadavg.toFixed(2)}\n`);
    process.stdout.write('setup                  clients/s  job ms  train ms  overhead  (on worker)  bytes/round\n');
    for (const r of rows) {
      const name = r.workers === 0 ? 'local, 1 thread' : `queue, ${r.workers} worker${r.workers > 1 ? 's' : ''}`;
      process.stdout.write(`${name.padEnd(22)} ${r.clientsPerSecond.toFixed(3).padStart(9)}  ${r.jobMs.toFixed(0).padStart(6)}  ${r.trainMs.toFixed(0).padStart(8)}  ${r.overheadShare === null ? '     n/a' : `${(100 * r.overheadShare).toFixed(1).padStart(7)}%`}  ${r.workerSideMs === null ? '        n/a' : `${r.workerSideMs.toFixed(1).padStart(8)} ms`}  ${r.bytesPerRound ? r.bytesPerRound.toFixed(0).padStart(11) : '          0'}\n`);
    }
  }
  return result;
}
