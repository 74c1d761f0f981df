/**
 * Redis keys next to BullMQ's: run records (what a run's jobs refer to) and the workers' heartbeats
 * (host, backend, busy/idle, jobs done), which expire when a worker stops beating. The pool view
 * of the CLI and the app reads these.
 */
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from './jobs';

/** A worker that has not beaten for this long is gone (it beats every third of it). */
export const WORKER_TTL_MS = 15_000;
/** Run records live this long after their last write (a run's rounds and resumes refresh it). */
export const RECORD_TTL_S = 7 * 24 * 3600;

export const recordKey = (digest: string) => `${QUEUE_PREFIX}:record:${digest}`;
export const workerKey = (id: string) => `${QUEUE_PREFIX}:worker:${id}`;

export interface PoolWorker {
  id: string;
  host: string;
  pid: number;
  backend: string;
  concurrency: number;
  /** Jobs running now (0: idle). */
  busy: number;
  jobsDone: number;
  lastSeen: number;
}

/** The workers whose heartbeat has not expired, by id. */
export async function listWorkers(redis: Redis): Promise<PoolWorker[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', workerKey('*'), 'COUNT', 200);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0' && keys.length < 10_000);
  const rows = await Promise.all(keys.map((k) => redis.hgetall(k)));
  return rows.filter((r) => r.id).map((r) => ({
    id: r.id, host: r.host, pid: Number(r.pid), backend: r.backend, concurrency: Number(r.concurrency),
    busy: Number(r.busy), jobsDone: Number(r.jobsDone), lastSeen: Number(r.lastSeen),
  })).sort((a, b) => (a.id < b.id ? -1 : 1));
}
