/**
 * A queue worker (`fedlora worker --queue URL`): joins the pool and executes the project's job kinds
 * until stopped. Every job is schema-checked first (a payload that fails is rejected without
 * running); a run's record is checked against this machine (same backend, same files by SHA-256)
 * before its model and data are loaded; training happens on worker threads (the client pool's
 * `clientWorker.ts`, the same recipe as the trainer's own thread), so this process's event loop
 * stays free to renew BullMQ's job locks. A killed worker's job goes back to the queue when its
 * lock expires (BullMQ's stalled-job check) and another worker takes it.
 */
import * as os from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { initBackend, type BackendPreference } from '../../engine/backend';
import { ConfigError, parseConfig, type ExperimentConfig } from '../../engine/config';
import { ClientWorkerPool } from '../clientPool';
import {
  CLIENT_QUEUE, clientJobId, clientJobSchema, decodeOptState, decodeWeights, describeIssues, encodeResult, inputDigest, QUEUE_PREFIX,
  RUN_QUEUE, runJobSchema, runRecordSchema, sha256, type ClientResultData, type RunRecord, type WorkerInfo,
} from './jobs';
import { manifestProblems } from './manifest';
import { recordKey, WORKER_TTL_MS, workerKey } from './registry';
import { runWholeRun } from './runJob';
import { bullConnection, redisClient, type QueueTarget } from './url';

export interface QueueWorkerOptions {
  target: QueueTarget;
  /** Jobs at once (each on its own training thread). */
  concurrency: number;
  backend: BackendPreference;
  /** Milliseconds before a dead worker's job counts as stalled and goes to another (BullMQ lock duration). */
  stallMs: number;
  log(line: string): void;
}

/** Training threads of one run, each holding the run's model and data; one job at a time each. */
interface RunSlots { pools: ClientWorkerPool[]; free: ClientWorkerPool[]; waiters: ((p: ClientWorkerPool) => void)[] }

/** Runs whose model and data this worker keeps loaded (the oldest is dropped beyond this). */
const CACHED_RUNS = 2;

export class QueueWorker {
  private readonly workers: Worker[] = [];
  private readonly runs = new Map<string, Promise<RunSlots>>();
  /** Checked run records by digest (at most CACHED_RUNS, oldest dropped first). */
  private readonly checked = new Map<string, Promise<{ record: RunRecord; config: ExperimentConfig }>>();
  private readonly beat: NodeJS.Timeout;
  private busy = 0;
  private jobsDone = 0;
  private stopping = false;

  private constructor(private readonly opts: QueueWorkerOptions, readonly info: WorkerInfo, private readonly redis: Redis) {
    this.beat = setInterval(() => void this.heartbeat(), WORKER_TTL_MS / 3);
    this.beat.unref();
  }

  /** Initialise the backend, connect, and start taking jobs. */
  static async start(opts: QueueWorkerOptions): Promise<QueueWorker> {
    const backend = await initBackend(opts.backend);
    const info: WorkerInfo = { id: `${os.hostname()}.${process.pid}`, host: os.hostname(), pid: process.pid, backend: backend.name };
    const redis = redisClient(opts.target, opts.log);
    const w = new QueueWorker(opts, info, redis);
    const common = {
      connection: bullConnection(opts.target), prefix: QUEUE_PREFIX, name: info.id,
      lockDuration: opts.stallMs, stalledInterval: opts.stallMs, maxStalledCount: 5,
    };
    w.workers.push(new Worker(CLIENT_QUEUE, (job) => w.guard(job, () => w.clientJob(job)), { ...common, concurrency: opts.concurrency }));
    w.workers.push(new Worker(RUN_QUEUE, (job) => w.guard(job, () => w.runJob(job)), { ...common, concurrency: opts.concurrency }));
    for (const x of w.workers) {
      x.on('error', (e) => opts.log(`queue: ${e.message}`));
      x.on('failed', (job, e) => opts.log(`job ${job?.id} failed: ${e.message}`));
    }
    await Promise.all(w.workers.map((x) => x.waitUntilReady()));
    await w.heartbeat();
    opts.log(`worker ${info.id} (${backend.name}, ${opts.concurrency} at a time) joined ${opts.target.display}`);
    return w;
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.redis.multi()
        .hset(workerKey(this.info.id), { ...this.info, concurrency: this.opts.concurrency, busy: this.busy, jobsDone: this.jobsDone, lastSeen: Date.now() })
        .pexpire(workerKey(this.info.id), WORKER_TTL_MS).exec();
    } catch { /* Redis away: the next beat tries again */ }
  }

  private async guard<T>(job: Job, f: () => Promise<T>): Promise<T> {
    this.busy++;
    void this.heartbeat();
    const t0 = performance.now();
    this.opts.log(`job ${job.id} started (${job.name})`);
    try {
      const r = await f();
      this.jobsDone++;
      this.opts.log(`job ${job.id} done in ${Math.round(performance.now() - t0)} ms`);
      return r;
    } finally {
      this.busy--;
      void this.heartbeat();
    }
  }

  /**
   * The run record a job refers to, checked once per record: it is content-addressed (the same digest
   * is the same record), and the training threads load the model and data once per record too, so
   * the files are hashed when a run's first job arrives, not for every client job.
   */
  private async record(runId: string, digest: string): Promise<{ record: RunRecord; config: ExperimentConfig }> {
    let c = this.checked.get(digest);
    if (!c) {
      c = this.checkRecord(runId, digest);
      c.catch(() => this.checked.delete(digest)); // a refusal or a missing record is checked again next time
      this.checked.set(digest, c);
      while (this.checked.size > CACHED_RUNS) this.checked.delete(this.checked.keys().next().value!);
    }
    const out = await c;
    if (out.record.runId !== runId) throw new UnrecoverableError(`rejected: run record is of run ${out.record.runId}, the job of ${runId}`);
    return out;
  }

  /** Read and check a run record: digest, schema, config, backend, files. */
  private async checkRecord(runId: string, digest: string): Promise<{ record: RunRecord; config: ExperimentConfig }> {
    const text = await this.redis.get(recordKey(digest));
    if (text === null) throw new Error(`run record ${digest.slice(0, 12)}... of run ${runId} is not in Redis (the coordinator writes it when the run starts)`);
    if (sha256(text) !== digest) throw new UnrecoverableError(`rejected: run record ${digest.slice(0, 12)}... does not match its digest`);
    let raw: unknown;
    try { raw = JSON.parse(text); } catch { throw new UnrecoverableError('rejected: run record is not JSON'); }
    const r = runRecordSchema.safeParse(raw);
    if (!r.success) throw new UnrecoverableError(`rejected: run record: ${describeIssues(r.error)}`);
    let config: ExperimentConfig;
    try { config = parseConfig(r.data.config); } catch (e) {
      throw new UnrecoverableError(`rejected: run config: ${e instanceof ConfigError ? e.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : (e as Error).message}`);
    }
    if (r.data.backend !== 'any' && r.data.backend !== this.info.backend) {
      throw new UnrecoverableError(`refused: run ${runId} trains on ${r.data.backend}, this worker on ${this.info.backend} (results would differ); start it with --backend ${r.data.backend}`);
    }
    const problems = manifestProblems(config, r.data.files);
    if (problems.length) {
      const msg = `refused: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`;
      this.opts.log(`run ${runId}: ${msg}`);
      throw new UnrecoverableError(msg);
    }
    return { record: r.data, config };
  }

  /** This worker's training threads for a run (built once per run from the coordinator's record). */
  private slots(digest: string, record: RunRecord, config: ExperimentConfig): Promise<RunSlots> {
    let s = this.runs.get(digest);
    if (!s) {
      s = (async () => {
        this.opts.log(`run ${record.runId}: loading model and data`);
        // each training thread loads them itself: this thread stays free to renew the job locks
        const pools = await Promise.all(Array.from({ length: this.opts.concurrency }, () => ClientWorkerPool.create(1, { config, rank: record.rank }, this.info.backend)));
        return { pools, free: [...pools], waiters: [] };
      })();
      s.catch(() => this.runs.delete(digest));
      this.runs.set(digest, s);
      while (this.runs.size > CACHED_RUNS) {
        const [oldest, old] = this.runs.entries().next().value!;
        this.runs.delete(oldest);
        void old.then((o) => Promise.all(o.pools.map((p) => p.close())), () => undefined);
      }
    }
    return s;
  }

  private async clientJob(job: Job): Promise<ClientResultData> {
    const t0 = performance.now();
    if (job.name !== 'client') throw new UnrecoverableError(`rejected: unknown job kind "${job.name}" (this worker runs ${['client', 'run'].join(', ')})`);
    const p = clientJobSchema.safeParse(job.data);
    if (!p.success) throw new UnrecoverableError(`rejected: job payload fails the schema: ${describeIssues(p.error)}`);
    const d = p.data;
    const expectId = clientJobId(d.runId, d.round, d.client, d.attempt, inputDigest(d));
    if (job.id !== expectId) throw new UnrecoverableError(`rejected: job id ${job.id} does not match its payload (expected ${expectId})`);
    const { record, config } = await this.record(d.runId, d.record);
    const slots = await this.slots(d.record, record, config);
    const pool = slots.free.pop() ?? await new Promise<ClientWorkerPool>((r) => slots.waiters.push(r));
    let result;
    const t1 = performance.now();
    try {
      [result] = await pool.train([{ round: d.round, client: d.client, global: decodeWeights(d.global), optState: decodeOptState(d.optState) }]);
    } finally {
      const next = slots.waiters.shift();
      if (next) next(pool); else slots.free.push(pool);
    }
    const train = performance.now() - t1;
    return encodeResult(job.id!, d, result, this.info, { total: performance.now() - t0, train });
  }

  private async runJob(job: Job): Promise<unknown> {
    if (job.name !== 'run') throw new UnrecoverableError(`rejected: unknown job kind "${job.name}" (this worker runs client, run)`);
    const p = runJobSchema.safeParse(job.data);
    if (!p.success) throw new UnrecoverableError(`rejected: job payload fails the schema: ${describeIssues(p.error)}`);
    const { record, config } = await this.record(p.data.runId, p.data.record);
    return runWholeRun(job, record, config, this.info, this.opts.log);
  }

  get jobs(): number { return this.jobsDone; }

  /** Stop taking jobs; the current ones finish (their results are delivered) unless `force`. */
  async stop(force = false): Promise<void> {
    if (this.stopping && !force) return;
    this.stopping = true;
    clearInterval(this.beat);
    await Promise.all(this.workers.map((w) => w.close(force)));
    for (const s of this.runs.values()) await s.then((o) => Promise.all(o.pools.map((p) => p.close())), () => undefined);
    this.runs.clear();
    try { await this.redis.del(workerKey(this.info.id)); } catch { /* gone anyway after its TTL */ }
    this.redis.disconnect();
  }
}
