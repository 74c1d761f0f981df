/**
 * The coordinator's side of whole-run jobs (sweeps through the queue): each run directory becomes
 * one `run` job; the worker that takes it streams every round's metrics row back (job progress),
 * which is appended here as it arrives; the finished job's result (all rows, summary, the worker's
 * meta fields) is checked and written into the run directory. No shared file system is needed.
 * A run restarts from round 1 on the worker (the scratch directory there holds its checkpoints),
 * which gives the same rows: every draw depends on (seed, round).
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import { writeFileAtomic } from '../runs/fsutil';
import { appendMetrics, files, readMetrics, readRunConfig, updateMeta, writeSummary, type RunSummary } from '../runs/runStore';
import { describeIssues, QUEUE_PREFIX, RUN_QUEUE, runJobSchema, sha256, workerInfoSchema, type RunRecord } from './jobs';
import { runManifest } from './manifest';
import { RECORD_TTL_S, recordKey } from './registry';
import { bullConnection, redisClient, type QueueTarget } from './url';

const MAX_ROWS = 100_000;
const rowSchema = z.record(z.string(), z.unknown()).refine((r) => Number.isInteger(r.round), { error: 'a metrics row needs an integer "round"' });
const summarySchema = z.object({
  status: z.enum(['created', 'queued', 'running', 'completed', 'failed', 'stopped', 'interrupted']),
  rounds: z.number(), finalAcc: z.number().nullable(), bestAcc: z.number().nullable(), totalUplinkBits: z.number(), meanRoundTime: z.number(),
  backend: z.string().nullable(), error: z.string().optional(),
}).strict();
export const runResultSchema = z.object({
  v: z.literal(1),
  runId: z.string().max(200),
  rows: z.array(rowSchema).max(MAX_ROWS),
  summary: summarySchema,
  meta: z.record(z.string(), z.unknown()),
  worker: workerInfoSchema,
}).strict();

export interface RunDispatcherOptions { target: QueueTarget; log(line: string): void }

/** Sends run directories to the pool, one job each, and writes their results back. */
export class QueueRunDispatcher {
  private constructor(private readonly opts: RunDispatcherOptions, private readonly queue: Queue, private readonly events: QueueEvents, private readonly redis: ReturnType<typeof redisClient>) {}

  static async open(opts: RunDispatcherOptions): Promise<QueueRunDispatcher> {
    const connection = bullConnection(opts.target);
    const queue = new Queue(RUN_QUEUE, { connection, prefix: QUEUE_PREFIX });
    const events = new QueueEvents(RUN_QUEUE, { connection, prefix: QUEUE_PREFIX });
    events.setMaxListeners(0);
    queue.on('error', (e) => opts.log(`queue: ${e.message}`));
    events.on('error', (e) => opts.log(`queue events: ${e.message}`));
    const d = new QueueRunDispatcher(opts, queue, events, redisClient(opts.target, opts.log));
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return d;
  }

  /** Train the run directory `dir` on a worker; resolves with its summary once the directory is written. */
  async run(dir: string): Promise<RunSummary> {
    const runId = dir.split(/[\\/]/).pop()!;
    const config = readRunConfig(dir);
    const record: RunRecord = { v: 1, runId, config: config as unknown as Record<string, unknown>, rank: null, backend: 'any', files: runManifest(config) };
    const text = JSON.stringify(record);
    const digest = sha256(text);
    await this.redis.set(recordKey(digest), text, 'EX', RECORD_TTL_S);
    writeFileAtomic(files(dir).metrics, ''); // the worker starts the run from round 1
    writeSummary(dir, { status: 'queued', rounds: 0, finalAcc: null, bestAcc: null, totalUplinkBits: 0, meanRoundTime: 0, backend: null });
    updateMeta(dir, { queue: { url: this.opts.target.display } });
    let id = '';
    for (let attempt = 0; ; attempt++) {
      id = `${runId}.a${attempt}.${digest.slice(0, 16)}`;
      const existing = await Job.fromId(this.queue, id);
      if (!existing || (await existing.getState()) !== 'failed') break;
    }
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      if (jobId !== id) return;
      const row = (data as { round?: Record<string, unknown> })?.round;
      if (row && rowSchema.safeParse(row).success && row.round === readMetrics(dir).rows.length + 1) appendMetrics(dir, row);
    };
    this.events.on('progress', onProgress);
    try {
      const job = await this.queue.add('run', runJobSchema.parse({ v: 1, runId, record: digest }), {
        jobId: id, attempts: 2, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 },
      });
      const value = await job.waitUntilFinished(this.events);
      const r = runResultSchema.safeParse(value);
      if (!r.success) throw new Error(`the result of run job ${id} fails the schema: ${describeIssues(r.error)}`);
      if (r.data.runId !== runId) throw new Error(`run job ${id} returned the result of run ${r.data.runId}`);
      writeFileAtomic(files(dir).metrics, r.data.rows.map((x) => JSON.stringify(x) + '\n').join(''));
      updateMeta(dir, { ...r.data.meta, queue: { url: this.opts.target.display, workers: [{ ...r.data.worker, jobs: 1 }] } });
      writeSummary(dir, r.data.summary);
      return r.data.summary;
    } catch (e) {
      const rows = readMetrics<{ round: number; testAcc: number | null; uplinkBits: number; roundTime: number }>(dir).rows;
      const s: RunSummary = { status: 'failed', rounds: rows.length, finalAcc: null, bestAcc: null, totalUplinkBits: 0, meanRoundTime: 0, backend: null, error: (e as Error).message };
      writeSummary(dir, s);
      throw e;
    } finally {
      this.events.off('progress', onProgress);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
  }
}
