/**
 * Redis keys next to BullMQ's: run records (what a run's jobs refer to) and the workers' heartbeats
 * (host, backend, busy/idle, jobs done), which expire when a worker stops beating. The pool view
 * of the CLI and the app reads these.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { QUEUE_PREFIX } from './jobs';

/** A worker that has not beaten for this long is gone (it beats every third of it). */
export const WORKER_TTL_MS = 15_000;
/** Run records live this long after their last write (a run's rounds and resumes refresh it). */
export const RECORD_TTL_S = 7 * 24 * 3600;

export const recordKey = (digest: string) => `${QUEUE_PREFIX}:record:${digest}`;
export const workerKey = (id: string) => `${QUEUE_PREFIX}:worker:${id}`;

/** A heartbeat as read back (anyone who can write to Redis can write one: checked, bounded). */
const count = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const poolWorkerSchema = z.object({
  id: z.string().min(1).max(200),
  host: z.string().max(200),
  pid: count,
  backend: z.string().max(40),
  concurrency: count,
  /** Jobs running now (0: idle). */
  busy: count,
  jobsDone: count,
  lastSeen: count,
});
export type PoolWorker = z.infer<typeof poolWorkerSchema>;

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
  return rows.flatMap((r) => { const p = poolWorkerSchema.safeParse(r); return p.success ? [p.data] : []; }).sort((a, b) => (a.id < b.id ? -1 : 1));
}
