/**
 * Worker-thread entry of the client pool: builds its own copy of a run's model and holds the
 * training data, then trains the jobs it is sent with the trainer's own recipe (`trainLocalJob`),
 * so its results equal the trainer thread's bit for bit on the same backend.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendPreference } from '../engine/backend';
import { FederatedTrainer, trainLocalJob, type LocalJob, type LocalWorkerInit } from '../engine/fl/federated';
import { resolved, withRank, type ExperimentConfig } from '../engine/config';
import { loadRunInputs } from './runner';
import { createModel } from '../engine/model';
import { Rng } from '../engine/rng';
import type { LocalResult } from '../engine/fl/client';

/** How a worker gets its model and data: given whole, or made here from a run's config (a queue worker's threads load their own, off its main thread). */
export type WorkerInitSource = LocalWorkerInit | { config: ExperimentConfig; rank: number | null };
export interface ClientWorkerData { init: WorkerInitSource; backend: string }
export type ClientWorkerRequest = { id: number; jobs: LocalJob[] };
export type ClientWorkerReply = { type: 'ready'; shardSizes: number[] } | { id: number; results: LocalResult[] } | { id: number; error: string } | { type: 'error'; error: string };

/** The typed arrays of results, moved (not copied) to the parent. */
function transferables(rs: LocalResult[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const r of rs) {
    for (const w of Object.values(r.update)) out.add(w.data.buffer as ArrayBuffer);
    for (const m of [r.optState.m, r.optState.v]) for (const a of Object.values(m)) out.add(a.buffer as ArrayBuffer);
  }
  return [...out];
}

/**
 * A run's worker init made from its config (paths absolute) the way the trainer makes it: the same
 * loaders, partition and task head (`FederatedTrainer.workerInit`); `rank` replaces lora.rank "auto".
 */
export function workerInitFromConfig(config: ExperimentConfig, rank: number | null): LocalWorkerInit {
  const { model, train, test, partition } = loadRunInputs(config, '/');
  const rc = config.lora.rank === 'auto' ? withRank(config, rank ?? 0) : resolved(config);
  const trainer = new FederatedTrainer({ config: rc, spec: model.spec, base: model.weights, train, test, partition });
  try { return trainer.workerInit(); } finally { trainer.dispose(); }
}

async function main(): Promise<void> {
  const { init: source, backend } = workerData as ClientWorkerData;
  try {
    await initBackend(backend as BackendPreference);
    const init = 'spec' in source ? source : workerInitFromConfig(source.config, source.rank);
    const cfg = init.config;
    const rng = Rng.fromSeed(cfg.seed);
    const model = createModel(init.spec, init.base, cfg.lora, cfg.train.mode, rng.child('init'));
    parentPort!.on('message', async ({ id, jobs }: ClientWorkerRequest) => {
      try {
        const results = [];
        for (const j of jobs) results.push(await trainLocalJob(model, cfg, init.train, init.partition, rng, j));
        parentPort!.postMessage({ id, results } satisfies ClientWorkerReply, transferables(results));
      } catch (e) {
        parentPort!.postMessage({ id, error: e instanceof Error ? e.message : String(e) } satisfies ClientWorkerReply);
      }
    });
    parentPort!.postMessage({ type: 'ready', shardSizes: init.partition.map((p) => p.length) } satisfies ClientWorkerReply);
  } catch (e) {
    parentPort!.postMessage({ type: 'error', error: e instanceof Error ? e.message : String(e) } satisfies ClientWorkerReply);
  }
}

if (parentPort) void main();
