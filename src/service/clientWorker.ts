/**
 * Worker-thread entry of the client pool: builds its own copy of a run's model and holds the
 * training data, then trains the jobs it is sent with the trainer's own recipe (`trainLocalJob`),
 * so its results equal the trainer thread's bit for bit on the same backend.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendPreference } from '../engine/backend';
import { trainLocalJob, type LocalJob, type LocalWorkerInit } from '../engine/fl/federated';
import { createModel } from '../engine/model';
import { Rng } from '../engine/rng';
import type { LocalResult } from '../engine/fl/client';

export interface ClientWorkerData { init: LocalWorkerInit; backend: string }
export type ClientWorkerRequest = { id: number; jobs: LocalJob[] };
export type ClientWorkerReply = { type: 'ready' } | { id: number; results: LocalResult[] } | { id: number; error: string } | { type: 'error'; error: string };

/** The typed arrays of results, moved (not copied) to the parent. */
function transferables(rs: LocalResult[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const r of rs) {
    for (const w of Object.values(r.update)) out.add(w.data.buffer as ArrayBuffer);
    for (const m of [r.optState.m, r.optState.v]) for (const a of Object.values(m)) out.add(a.buffer as ArrayBuffer);
  }
  return [...out];
}

async function main(): Promise<void> {
  const { init, backend } = workerData as ClientWorkerData;
  try {
    await initBackend(backend as BackendPreference);
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
    parentPort!.postMessage({ type: 'ready' } satisfies ClientWorkerReply);
  } catch (e) {
    parentPort!.postMessage({ type: 'error', error: e instanceof Error ? e.message : String(e) } satisfies ClientWorkerReply);
  }
}

if (parentPort) void main();
