/**
 * RunManager: the runs directory as a service. Lists, creates, starts, stops, resumes, duplicates
 * and deletes runs; trains each in its own worker thread (`runWorker.ts`), at most `maxConcurrent`
 * at once, the rest `queued` in order; turns worker messages into `RunEvent`s. Errors are
 * `ApiError`s with the contract's codes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApiError, type Preset, type RoundMetrics, type RunDetail, type RunEvent, type RunListItem, type RunStatus, type SweepInfo, type ValidateResult, type DataPreview } from '../contract/api';
import { previewConfig } from './data/preview';
import { listPresets, findUp } from './presets';
import { prepareSweep, sweepInfos } from './sweep';
import { acquireRunLock, heldByOther, lockOwner, newOwnerToken, RunLockedError } from './runs/lock';
import { readRunFile, runDirOf, sweepRunsDir } from './runs/runDirs';
import { appendLog, readTags, RunListCache, runItem, tailLog, validateTags } from './runs/runList';
import type { RunWorkerData, RunWorkerMessage } from './runWorker';
import { spawnWorker, workerEntry } from './workers';
import { createRunDir, files, readJson, readMetrics, readSummary, rewriteSummary, updateMeta } from './runs/runStore';
import { validateRunConfig, validOrThrow } from './validate';
import { versions } from './versions';
import { upgradeConfig, type ExperimentConfig } from '../engine/config';

export interface RunManagerOptions {
  runsDir: string;
  /** Most runs trained at once (default 1); the rest wait as `queued`. */
  maxConcurrent?: number;
  /** Folder of preset configs (`*.json`); default: the repo's `configs/`. */
  presetsDir?: string;
  /** Relative paths in submitted configs resolve against this folder (default: cwd). */
  configBaseDir?: string;
  /** The worker entry: a built `.js` file, or `runWorker.ts` (then loaded through tsx). */
  workerEntry?: string;
  /** Worker threads each run trains its clients on (default 1: the run's own thread); metrics do not depend on it. */
  clientWorkers?: number;
  /** Train runs' clients on the workers of this Redis queue (redis:// URL, checked by the caller) instead of threads here. */
  clientQueue?: string;
}

interface ActiveRun {
  worker: Worker;
  stopFlag: Int32Array;
  stopRequests: number;
  terminated: boolean; // a second stop terminated the worker mid-round
  finished: boolean; // the worker reported done or error
  summary?: { status: RunStatus; backend: string | null };
  error?: string;
  locked?: boolean;
}

const STARTABLE: RunStatus[] = ['created', 'stopped', 'interrupted', 'failed'];
const RESUMABLE: RunStatus[] = ['stopped', 'interrupted', 'failed'];

export class RunManager {
  readonly runsDir: string;
  readonly maxConcurrent: number;
  readonly clientWorkers: number;
  private readonly presetsDir: string | null;
  private readonly configBaseDir: string;
  private readonly workerEntry: string;
  private readonly queue: string[] = [];
  private readonly active = new Map<string, ActiveRun>();
  private readonly listeners = new Set<(e: RunEvent) => void>();
  private idleWaiters: (() => void)[] = [];
  private readonly listCache: RunListCache;
  /** Backend of the last finished run that asked for "auto". */
  lastAutoBackend: string | null = null;
  /** This manager's owner token: the run locks it takes for the runs it queues and trains. */
  private readonly token = newOwnerToken();
  /** Release functions of the run locks this manager holds (its queued and running runs). */
  private readonly held = new Map<string, () => void>();
  private readonly clientQueue?: string;

  constructor(opts: RunManagerOptions) {
    this.runsDir = path.resolve(opts.runsDir);
    this.maxConcurrent = opts.maxConcurrent ?? 1;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) throw new Error(`maxConcurrent: must be an integer >= 1, got ${opts.maxConcurrent}`);
    this.clientWorkers = opts.clientWorkers ?? 1;
    if (!Number.isInteger(this.clientWorkers) || this.clientWorkers < 1 || this.clientWorkers > 64) throw new Error(`clientWorkers: must be an integer from 1 to 64, got ${opts.clientWorkers}`);
    this.presetsDir = opts.presetsDir ?? findUp('configs');
    this.configBaseDir = opts.configBaseDir ?? process.cwd();
    this.workerEntry = opts.workerEntry ?? workerEntry(__dirname, 'runWorker');
    this.clientQueue = opts.clientQueue;
    fs.mkdirSync(this.runsDir, { recursive: true });
    this.listCache = new RunListCache(this.runsDir);
    sweepRunsDir(this.runsDir);
  }

  // ---- events ----

  subscribe(listener: (e: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private emit(e: RunEvent): void {
    for (const l of [...this.listeners]) {
      try { l(e); } catch { /* a listener's failure is its own */ }
    }
  }

  private emitStatus(id: string): void {
    const item = this.item(id);
    this.emit({ type: 'status', runId: id, status: item.status, item });
  }

  private log(id: string, line: string): void {
    try { appendLog(this.dirOf(id), line); } catch { /* the run dir may be gone */ }
    this.emit({ type: 'log', runId: id, line });
  }

  // ---- reading ----

  /** The directory of a run id; anything but a plain folder name (no path traversal), or a symlinked folder, is refused. */
  dirOf(id: unknown): string {
    return runDirOf(this.runsDir, id);
  }

  private existing(id: unknown): string {
    const dir = this.dirOf(id);
    if (!fs.existsSync(files(dir).config)) throw new ApiError('not-found', `no run ${id}`);
    return dir;
  }

  private liveStatus(id: string): RunStatus | undefined {
    if (this.active.has(id)) return 'running';
    if (this.queue.includes(id)) return 'queued';
    return undefined;
  }

  status(id: string): RunStatus {
    return this.item(id).status;
  }

  item(id: string): RunListItem {
    return runItem(this.existing(id), this.liveStatus(id));
  }

  /** Rows of the runs list (cached per run until its summary or meta changes), with the live statuses. */
  list(): RunListItem[] {
    return this.listCache.items().map((item) => {
      const live = this.liveStatus(item.id);
      return live ? { ...item, status: live } : item;
    });
  }

  get(id: string): RunDetail {
    const dir = this.existing(id);
    return {
      item: runItem(dir, this.liveStatus(id)),
      config: upgradeConfig(readRunFile<Record<string, unknown>>(dir, 'config')) as Record<string, unknown>,
      meta: readRunFile<Record<string, unknown>>(dir, 'meta'),
      metrics: readMetrics<RoundMetrics>(dir).rows,
      log: tailLog(dir),
    };
  }

  metrics(id: string, since = 0): RoundMetrics[] {
    return readMetrics<RoundMetrics>(this.existing(id)).rows.filter((r) => r.round > since);
  }

  validate(input: unknown): ValidateResult {
    return validateRunConfig(input, this.configBaseDir) as ValidateResult;
  }

  presets(): Preset[] { return listPresets(this.presetsDir); }

  // ---- writing ----

  create(input: unknown, opts: { start?: 'now' | 'no'; tags?: unknown } = {}): RunListItem {
    const tags = validateTags(opts.tags);
    return this.add(validOrThrow(input, this.configBaseDir), { tags }, opts.start);
  }

  /** A new run directory with this config and meta fields; queued at once with start "now". */
  private add(config: ExperimentConfig, meta: Record<string, unknown>, start?: 'now' | 'no'): RunListItem {
    const dir = createRunDir(this.runsDir, config, versions(), os.cpus().length);
    updateMeta(dir, meta);
    const id = path.basename(dir);
    this.emitStatus(id);
    if (start === 'now') this.enqueue(id);
    return this.item(id);
  }

  /** Expand a sweep grid into tagged runs (all validated before any is created); optionally queue them. */
  createSweep(spec: unknown, opts: { start?: 'now' | 'no' } = {}): SweepInfo {
    const { tag, planned } = prepareSweep(spec, this.presets(), this.configBaseDir);
    if (this.list().some((r) => r.tags.includes(tag))) throw new ApiError('conflict', `a sweep named "${tag.slice('sweep:'.length)}" exists; choose another name`);
    for (const run of planned) this.create(run.config, { start: opts.start, tags: [tag, run.label.slice(0, 60)] });
    return this.sweeps().find((x) => x.tag === tag)!;
  }

  /** Class histogram per client and samples of a config's dataset (validated like a run's config). */
  preview(input: unknown): DataPreview { return previewConfig(input, this.configBaseDir); }

  /** Sweeps by tag, with their runs' statuses. */
  sweeps(): SweepInfo[] { return sweepInfos(this.list()); }

  duplicate(id: string, opts: { start?: 'now' | 'no' } = {}): RunListItem {
    const src = this.existing(id);
    const tags = readTags(readRunFile<Record<string, unknown>>(src, 'meta'));
    const v = validateRunConfig(readRunFile(src, 'config'), src);
    if (!v.ok) throw new ApiError('invalid-config', `run ${id} has a config this version cannot run`, v.issues);
    return this.add(v.config, { tags, duplicateOf: id }, opts.start);
  }

  start(id: string): RunListItem { return this.queueFrom(id, STARTABLE, 'started'); }

  resume(id: string): RunListItem { return this.queueFrom(id, RESUMABLE, 'resumed'); }

  private queueFrom(id: string, allowed: RunStatus[], verb: string): RunListItem {
    const status = this.status(id);
    if (!allowed.includes(status)) throw new ApiError('conflict', `run ${id} is ${status}; only ${allowed.join(', ')} runs can be ${verb}${status === 'created' ? ' (start it instead)' : ''}`);
    this.enqueue(id);
    return this.item(id);
  }

  /** Queued: leaves the queue. Running: finishes the current round; a second stop terminates the worker. */
  stop(id: string): RunListItem {
    const dir = this.existing(id);
    const q = this.queue.indexOf(id);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.writeStatus(dir, 'stopped');
      this.release(id);
      this.log(id, 'removed from the queue');
      this.emitStatus(id);
      return this.item(id);
    }
    const run = this.active.get(id);
    if (!run) throw new ApiError('conflict', heldByOther(dir, this.token) ? `run ${id} belongs to process ${lockOwner(dir)?.pid} (another app or server on this folder); stop it there` : `run ${id} is ${this.status(id)}, not running or queued`);
    run.stopRequests++;
    if (run.stopRequests === 1) {
      Atomics.store(run.stopFlag, 0, 1);
      this.log(id, 'stop requested: finishing the current round');
    } else if (!run.finished && !run.terminated) {
      run.terminated = true;
      this.log(id, 'stop requested again: terminating the worker (resume continues from the last checkpoint)');
      void run.worker.terminate();
    }
    return this.item(id);
  }

  delete(id: string): { id: string } {
    const dir = this.existing(id);
    if (this.active.has(id)) throw new ApiError('conflict', `run ${id} is running; stop it first`);
    if (heldByOther(dir, this.token)) throw new ApiError('conflict', `run ${id} is being written by process ${lockOwner(dir)?.pid}; stop it first`);
    const q = this.queue.indexOf(id);
    if (q >= 0) this.queue.splice(q, 1);
    this.release(id);
    fs.rmSync(dir, { recursive: true, force: true });
    this.emit({ type: 'deleted', runId: id });
    return { id };
  }

  /** Resolves when nothing runs and nothing waits. */
  whenIdle(): Promise<void> {
    if (this.active.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Empties the queue (runs `stopped`), stops running runs after their round, terminates them after `timeoutMs`. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    for (const id of [...this.queue]) this.stop(id);
    for (const id of this.active.keys()) this.stop(id);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    if ((await Promise.race([this.whenIdle(), timer])) === 'timeout') {
      for (const id of [...this.active.keys()]) this.stop(id);
      await this.whenIdle();
    }
  }

  // ---- queue and workers ----

  /** Queue a run: this manager takes its run lock now (a queued run belongs to one process), and holds it until the run ends. */
  private enqueue(id: string): void {
    const dir = this.existing(id);
    const v = validateRunConfig(readRunFile(dir, 'config'), dir);
    if (!v.ok) throw new ApiError('invalid-config', `run ${id} cannot run: ` + v.issues.map((i) => `${i.path}: ${i.message}`).join('; '), v.issues);
    try {
      this.held.set(id, acquireRunLock(dir, { token: this.token }));
    } catch (e) {
      if (e instanceof RunLockedError) throw new ApiError('conflict', `run ${id} is being written by process ${lockOwner(dir)?.pid}`);
      throw e;
    }
    this.queue.push(id);
    this.writeStatus(dir, 'queued');
    this.emitStatus(id);
    this.pump();
  }

  private pump(): void {
    while (this.active.size < this.maxConcurrent && this.queue.length > 0) this.launch(this.queue.shift()!);
    if (this.active.size === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private launch(id: string): void {
    const dir = this.dirOf(id);
    const stopFlag = new Int32Array(new SharedArrayBuffer(4));
    let worker: Worker;
    try {
      worker = spawnWorker(this.workerEntry, { dir, stopFlag, clientWorkers: this.clientWorkers, lockToken: this.token, queue: this.clientQueue } satisfies RunWorkerData);
    } catch (e) {
      this.writeStatus(dir, 'failed', `could not start a worker: ${(e as Error).message}`);
      this.release(id);
      this.emitStatus(id);
      return;
    }
    const run: ActiveRun = { worker, stopFlag, stopRequests: 0, terminated: false, finished: false };
    this.active.set(id, run);
    worker.on('message', (m: RunWorkerMessage) => this.onWorkerMessage(id, run, m));
    worker.on('error', (e) => { run.error ??= e.message; });
    worker.on('exit', () => this.onWorkerExit(id, run));
    this.emitStatus(id);
  }

  private onWorkerMessage(id: string, run: ActiveRun, m: RunWorkerMessage): void {
    switch (m.type) {
      case 'round':
        this.emit({ type: 'round', runId: id, metrics: m.metrics, totalRounds: m.totalRounds });
        break;
      case 'log':
        this.log(id, m.line);
        break;
      case 'backend':
        // live: the app's Help and Environment show the backend while the run trains
        if (this.asksAuto(id)) { this.lastAutoBackend = m.name; this.emitStatus(id); }
        break;
      case 'done':
        run.finished = true;
        run.summary = m.summary;
        void run.worker.terminate();
        break;
      case 'error':
        run.finished = true;
        run.error = m.message;
        run.locked = m.locked;
        void run.worker.terminate();
        break;
    }
  }

  /** The run's config asks for backend "auto" (what Help reports as this machine's backend). */
  private asksAuto(id: string): boolean {
    try { return readJson<{ backend?: string }>(files(this.dirOf(id)).config).backend === 'auto'; } catch { return false; }
  }

  private onWorkerExit(id: string, run: ActiveRun): void {
    this.active.delete(id);
    let dir: string | null = null;
    try { dir = this.dirOf(id); } catch { /* replaced by a link meanwhile: write nothing through it */ }
    if (dir && fs.existsSync(files(dir).config)) {
      if (run.summary) {
        this.log(id, `${run.summary.status}`);
        if (run.summary.backend && this.asksAuto(id)) this.lastAutoBackend = run.summary.backend;
      } else if (run.locked) {
        this.log(id, `not started: ${run.error}`);
      } else {
        if (run.terminated) {
          this.writeStatus(dir, 'stopped');
          this.log(id, 'worker terminated; stopped');
        } else {
          const s = readSummary(dir);
          const error = run.error ?? 'the worker exited unexpectedly';
          if (!s || s.status === 'running' || s.status === 'queued') this.writeStatus(dir, 'failed', error);
          this.log(id, `failed: ${error}`);
        }
      }
    }
    this.release(id);
    if (dir && fs.existsSync(files(dir).config)) this.emitStatus(id);
    this.pump();
  }

  /** Give up the run lock taken when the run was queued (only while it is still this manager's). */
  private release(id: string): void {
    this.held.get(id)?.();
    this.held.delete(id);
  }

  /**
   * Rewrites summary.json with a new status, the numbers recomputed from metrics.jsonl; never into
   * a run another process or manager holds (returns false then).
   */
  private writeStatus(dir: string, status: RunStatus, error?: string): boolean {
    if (heldByOther(dir, this.token)) {
      this.log(path.basename(dir), `status ${status} not written: the run belongs to process ${lockOwner(dir)?.pid}`);
      return false;
    }
    rewriteSummary(dir, status, error);
    return true;
  }
}
