/**
 * The coordinator's side of a queued run: a `LocalTrainerPool` whose client jobs go through BullMQ
 * to `fedlora worker` processes. The coordinator keeps the run directory, aggregation, the
 * controller and the clock; results come back in job (client-id) order whatever the placement or
 * the order of completion, so the metrics equal a local run's.
 *
 * Each job's id carries run, round, client, attempt and a digest of its inputs: a job already done
 * (its result still in Redis, e.g. before a coordinator was killed and the run resumed) is not
 * recomputed; a job that failed in an earlier session is queued again under the next attempt.
 * Jobs Redis lost (a restart without persistence) are queued again; Redis unreachable for
 * `lostMs` fails the round with a message saying how to resume.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import type { ExperimentConfig } from '../../engine/config';
import type { LocalResult } from '../../engine/fl/client';
import type { LocalJob, LocalTrainerPool } from '../../engine/fl/federated';
import {
  CLIENT_QUEUE, clientJobData, clientJobId, clientResultSchema, decodeResult, describeIssues, inputDigest, QUEUE_PREFIX, sha256,
  type ClientJobData, type RunRecord, type WorkerInfo,
} from './jobs';
import { runManifest } from './manifest';
import { RECORD_TTL_S, recordKey } from './registry';
import { bullConnection, redisClient, type QueueTarget } from './url';
import type { Redis } from 'ioredis';

/** Job attempts BullMQ makes on workers before the job fails (errors other than refusals). */
export const JOB_ATTEMPTS = 3;
/** Fresh jobs (new attempt ids) the coordinator queues for one client in one session after failures. */
const SESSION_ATTEMPTS = 2;
/** How often unfinished jobs are looked up directly (besides BullMQ's completion events). */
const POLL_MS = 1000;
/** Finished jobs are kept this long: a resumed run reuses results still there. */
const KEEP_S = 24 * 3600;

export interface QueuePoolOptions {
  target: QueueTarget;
  runId: string;
  config: ExperimentConfig;
  /** The rank the run trains (the offline stage's choice when lora.rank is "auto"). */
  rank: number | null;
  backend: string;
  log?(line: string): void;
  /** After each finished client job of a round: jobs done, jobs in the round, workers seen so far. */
  onJob?(done: number, total: number, workers: number): void;
  /** Fail when Redis cannot be reached for this long (default 60 s). */
  lostMs?: number;
}

export interface PoolWorkerUse extends WorkerInfo { jobs: number }

export interface QueueStats {
  jobs: number;
  /** Jobs whose result was already in Redis (not recomputed). */
  reused: number;
  /** JSON characters of job payloads sent and results received. */
  bytesOut: number;
  bytesIn: number;
  /** Worker milliseconds: whole jobs (decode + train + encode) and training alone. */
  workerMs: number;
  trainMs: number;
}

/** A job that ended in a refusal or rejection: trying again elsewhere gives the same answer. */
const permanent = (reason: string) => /^(refused|rejected):/.test(reason);

export class QueueClientPool implements LocalTrainerPool {
  readonly stats: QueueStats = { jobs: 0, reused: 0, bytesOut: 0, bytesIn: 0, workerMs: 0, trainMs: 0 };
  private readonly seen = new Map<string, PoolWorkerUse>();
  private readonly ran = new Map<number, Record<number, string>>();

  private constructor(
    private readonly opts: QueuePoolOptions,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
    private readonly recordText: string,
    readonly recordDigest: string,
  ) {}

  /** Write the run record and connect. The run's files are hashed here (workers compare theirs). */
  static async open(opts: QueuePoolOptions): Promise<QueueClientPool> {
    const record: RunRecord = { v: 1, runId: opts.runId, config: opts.config as unknown as Record<string, unknown>, rank: opts.rank, backend: opts.backend, files: runManifest(opts.config) };
    const text = JSON.stringify(record);
    const connection = bullConnection(opts.target);
    const queue = new Queue(CLIENT_QUEUE, { connection, prefix: QUEUE_PREFIX, streams: { events: { maxLen: 2000 } } });
    const events = new QueueEvents(CLIENT_QUEUE, { connection, prefix: QUEUE_PREFIX });
    events.setMaxListeners(0);
    queue.on('error', (e) => opts.log?.(`queue: ${e.message}`));
    events.on('error', (e) => opts.log?.(`queue events: ${e.message}`));
    const pool = new QueueClientPool(opts, queue, events, redisClient(opts.target, opts.log), text, sha256(text));
    try {
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      await pool.writeRecord();
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private async writeRecord(): Promise<void> {
    await this.redis.set(recordKey(this.recordDigest), this.recordText, 'EX', RECORD_TTL_S);
  }

  /** Which worker trained which client, per round (the last 50 rounds of this session): round -> client -> worker id. */
  placement(): Record<number, Record<number, string>> { return Object.fromEntries(this.ran); }

  /** The workers that trained this run's jobs so far (in this session), by id. */
  workers(): PoolWorkerUse[] { return [...this.seen.values()].sort((a, b) => (a.id < b.id ? -1 : 1)); }

  async train(jobs: LocalJob[]): Promise<LocalResult[]> {
    await this.withLostLimit(() => this.writeRecord(), 'writing the run record');
    let done = 0;
    return Promise.all(jobs.map(async (j) => {
      const r = await this.trainOne(j);
      this.opts.onJob?.(++done, jobs.length, this.seen.size);
      return r;
    }));
  }

  private async trainOne(job: LocalJob): Promise<LocalResult> {
    let failures = 0;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const data = clientJobData(this.opts.runId, this.recordDigest, job, attempt);
      const id = clientJobId(this.opts.runId, job.round, job.client, attempt, inputDigest(data));
      const existing = await this.withLostLimit(() => Job.fromId(this.queue, id), `looking up job ${id}`);
      const state = existing ? await existing.getState() : null;
      if (state === 'failed') {
        if (permanent(existing!.failedReason ?? '')) throw new Error(`round ${job.round}, client ${job.client}: ${existing!.failedReason}`);
        continue; // failed in an earlier session: a fresh attempt
      }
      if (state === 'completed') this.stats.reused++;
      try {
        const value = await this.finish(id, data, state === null);
        return this.accept(id, job, value);
      } catch (e) {
        const reason = (e as Error).message;
        if (permanent(reason) || e instanceof LostRedisError || ++failures >= SESSION_ATTEMPTS) throw new Error(`round ${job.round}, client ${job.client}: ${reason}`);
        this.opts.log?.(`job ${id} failed (${reason}); queuing it again`);
      }
    }
    throw new Error(`round ${job.round}, client ${job.client}: too many failed attempts`);
  }

  private add(id: string, data: ClientJobData): Promise<unknown> {
    const text = JSON.stringify(data);
    this.stats.bytesOut += text.length;
    return this.queue.add('client', data, {
      jobId: id, attempts: JOB_ATTEMPTS, backoff: { type: 'fixed', delay: 500 },
      removeOnComplete: { age: KEEP_S }, removeOnFail: { age: KEEP_S },
    });
  }

  /** Queue the job (when `fresh`) and wait for its result: completion events, plus a poll that re-queues a job Redis lost. */
  private async finish(id: string, data: ClientJobData, fresh: boolean): Promise<unknown> {
    if (fresh) await this.withLostLimit(() => this.add(id, data), `queuing job ${id}`);
    let stop = false;
    const viaEvents = (async () => {
      const job = await Job.fromId(this.queue, id);
      if (!job) return new Promise<never>(() => undefined); // lost already: the poll below re-queues it
      return job.waitUntilFinished(this.events);
    })();
    const viaPoll = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        if (stop) break;
        const job = await this.withLostLimit(() => Job.fromId(this.queue, id), `waiting for job ${id}`);
        if (!job) {
          this.opts.log?.(`job ${id} is gone from Redis (restarted?): queuing it again`);
          await this.withLostLimit(() => this.writeRecord(), 'writing the run record'); // gone with it
          await this.withLostLimit(() => this.add(id, data), `queuing job ${id}`);
          continue;
        }
        const state = await job.getState();
        if (state === 'completed') return job.returnvalue;
        if (state === 'failed') throw new Error(job.failedReason);
      }
      return new Promise<never>(() => undefined);
    })();
    try {
      return await Promise.race([viaEvents, viaPoll]);
    } finally {
      stop = true;
      viaEvents.catch(() => undefined);
      viaPoll.catch(() => undefined);
    }
  }

  /** Check a result (schema, and that it answers this very job) and decode it. */
  private accept(id: string, job: LocalJob, value: unknown): LocalResult {
    const r = clientResultSchema.safeParse(value);
    if (!r.success) throw new Error(`round ${job.round}, client ${job.client}: the result of job ${id} fails the schema: ${describeIssues(r.error)}`);
    const v = r.data;
    if (v.jobId !== id || v.runId !== this.opts.runId || v.round !== job.round || v.client !== job.client) {
      throw new Error(`round ${job.round}, client ${job.client}: job ${id} returned the result of ${v.jobId} (run ${v.runId}, round ${v.round}, client ${v.client})`);
    }
    this.stats.jobs++;
    this.stats.bytesIn += JSON.stringify(value).length;
    this.stats.workerMs += v.ms.total;
    this.stats.trainMs += v.ms.train;
    const w = this.seen.get(v.worker.id) ?? { ...v.worker, jobs: 0 };
    w.jobs++;
    this.seen.set(v.worker.id, w);
    const round = this.ran.get(job.round) ?? {};
    round[job.client] = v.worker.id;
    this.ran.set(job.round, round);
    for (const r of this.ran.keys()) if (this.ran.size > 50 && r !== job.round) this.ran.delete(r);
    return decodeResult(v);
  }

  /** Run a Redis call; reject with LostRedisError when it has not answered within lostMs. */
  private async withLostLimit<T>(f: () => Promise<T>, what: string): Promise<T> {
    const lostMs = this.opts.lostMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([f(), new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LostRedisError(`no answer from Redis at ${this.opts.target.display} for ${Math.round(lostMs / 1000)} s while ${what}; the run stops here with its checkpoint intact: start Redis again and continue with \`fedlora resume <runDir> --queue URL\``)), lostMs);
      })]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
  }
}

export class LostRedisError extends Error {}
