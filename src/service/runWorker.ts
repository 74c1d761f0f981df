/**
 * Worker-thread entry: trains one run (`executeRun`) off the calling thread and reports through
 * messages. The stop request arrives through a shared flag, because the round loop is synchronous
 * and a worker busy in it never sees port messages; `shouldStop` polls the flag between rounds.
 */
import type { RoundMetrics } from '../contract/api';
import { parentPort, workerData } from 'node:worker_threads';
import { executeRun } from './runner';
import { RunLockedError } from './runs/lock';
import type { RunSummary } from './runs/runStore';
import type * as QueueHooks from './queue/hooks';
import type * as QueueUrl from './queue/url';

export interface RunWorkerData {
  dir: string;
  /** Int32Array view over a SharedArrayBuffer; element 0 != 0 means "stop after this round". */
  stopFlag: Int32Array;
  /** Worker threads to train each round's clients on (default 1: this thread). */
  clientWorkers?: number;
  /** The run lock the manager took under this owner token when it queued the run: the worker adopts it. */
  lockToken?: string;
  /** Train the clients on the workers of this queue (redis:// URL, checked by the caller) instead of threads here. */
  queue?: string;
}

export type RunWorkerMessage =
  | { type: 'round'; metrics: RoundMetrics; totalRounds: number }
  | { type: 'log'; line: string }
  | { type: 'backend'; name: string }
  | { type: 'done'; summary: RunSummary }
  | { type: 'error'; message: string; locked: boolean };

function post(m: RunWorkerMessage): void {
  parentPort?.postMessage(m);
}

/**
 * The hooks of a run whose clients train on a Redis queue. BullMQ and ioredis load only here, for a
 * queued run (otherwise 265 modules, ~0.26 s of CPU, in every run thread started from source; the
 * Electron bundle, out/main/runWorker.js, still loads bullmq at its top: rolldown hoists external requires). require, not import(): this
 * thread may run with tsx's CommonJS hook alone (workers.ts), which cannot import() a .ts file.
 */
function queuedHooks(url: string, onJob: (done: number, total: number, workers: number) => void) {
  const { parseQueueUrl } = require('./queue/url') as typeof QueueUrl;
  const { queueRunHooks } = require('./queue/hooks') as typeof QueueHooks;
  return queueRunHooks(parseQueueUrl(url), (line) => post({ type: 'log', line }), onJob);
}

async function main(): Promise<void> {
  const { dir, stopFlag, clientWorkers, lockToken, queue } = workerData as RunWorkerData;
  try {
    // the app's log shows a round's client jobs as they finish (at most ~10 lines a round) and the workers' count
    const onJob = (done: number, total: number, workers: number) => {
      if (done === total || done % Math.ceil(total / 10) === 0) post({ type: 'log', line: `client jobs ${done}/${total} done on ${workers} worker${workers === 1 ? '' : 's'}` });
    };
    const queued = queue ? queuedHooks(queue, onJob) : {};
    const summary = await executeRun(dir, {
      onRound: (metrics, totalRounds) => { queued.onRound?.(metrics, totalRounds); post({ type: 'round', metrics: { ...metrics }, totalRounds }); },
      clientPool: queued.clientPool,
      onLog: (line) => post({ type: 'log', line }),
      onBackend: (name) => post({ type: 'backend', name }),
      shouldStop: () => Atomics.load(stopFlag, 0) !== 0,
      clientWorkers,
      lockToken,
    });
    post({ type: 'done', summary });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e), locked: e instanceof RunLockedError });
  }
}

if (parentPort) void main();
