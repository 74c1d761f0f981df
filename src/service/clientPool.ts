/**
 * Trains a round's clients on N worker threads (`clientWorker.ts`), each with its own model copy.
 * Jobs are handed out longest-first (by shard size), one at a time to whichever worker is free;
 * results come back in job order.
 * Which worker trains a client does not change its result, so metrics equal a one-thread run's.
 */
import type { Worker } from 'node:worker_threads';
import type { LocalResult } from '../engine/fl/client';
import type { LocalJob, LocalTrainerPool } from '../engine/fl/federated';
import type { ClientWorkerReply, WorkerInitSource } from './clientWorker';
import { spawnWorker, workerEntry } from './workers';

export class ClientWorkerPool implements LocalTrainerPool {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: LocalResult[]): void; reject(e: Error): void }>();

  private constructor(private readonly workers: Worker[], private readonly shardSizes: number[]) {
    for (const w of workers) {
      w.on('message', (m: ClientWorkerReply) => {
        if (!('id' in m)) return;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if ('error' in m) p.reject(new Error(`client worker: ${m.error}`)); else p.resolve(m.results);
      });
      w.on('error', (e) => { for (const p of this.pending.values()) p.reject(e); this.pending.clear(); });
    }
  }

  /** Start `n` workers holding the run's model and data (given, or loaded by each from the run's config); resolves when all are ready. */
  static async create(n: number, init: WorkerInitSource, backend: string, entry = workerEntry(__dirname, 'clientWorker')): Promise<ClientWorkerPool> {
    const workers = Array.from({ length: n }, () => spawnWorker(entry, { init, backend }));
    let shardSizes: number[] = [];
    try {
      await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
        const onMsg = (m: ClientWorkerReply) => {
          if ('type' in m && m.type === 'ready') { w.off('message', onMsg); shardSizes = m.shardSizes; resolve(); }
          else if ('type' in m && m.type === 'error') reject(new Error(`client worker failed to start: ${m.error}`));
        };
        w.on('message', onMsg);
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`client worker exited (${code}) before it was ready`)));
      })));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new ClientWorkerPool(workers, shardSizes);
  }

  get size(): number { return this.workers.length; }

  async train(jobs: LocalJob[]): Promise<LocalResult[]> {
    // Longest first, each job to the next worker that falls idle (jobs of one client take about
    // as long as its shard, but workers slow down unevenly when they share the machine).
    const queue = jobs.map((_, i) => i).sort((a, b) => this.shardSizes[jobs[b].client] - this.shardSizes[jobs[a].client] || a - b);
    const results: LocalResult[] = new Array(jobs.length);
    let next = 0;
    await Promise.all(this.workers.map(async (worker) => {
      while (next < queue.length) {
        const i = queue[next++];
        const id = this.nextId++;
        const done = new Promise<LocalResult[]>((resolve, reject) => this.pending.set(id, { resolve, reject }));
        worker.postMessage({ id, jobs: [jobs[i]] });
        [results[i]] = await done;
      }
    }));
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
