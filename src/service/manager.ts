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
import { ApiError, type Preset, type RoundMetrics, type RunDetail, type RunEvent, type RunListItem, type RunStatus, type SweepInfo, type ValidateResult, type DataPreview } from '../shared/api';
import { dataPreview } from './preview';
import { planSweep, SweepError, type PlannedRun, type SweepSpec } from './sweep';
import { validateConfig } from '../engine/config';
import { acquireRunLock, heldByOther, lockOwner, newOwnerToken, RunLockedError } from './lock';
import { readRunFile, runDirOf, sweepRunsDir } from './runDirs';
import { appendLog, readSummary, readTags, runItem, tailLog } from './runView';
import type { RunWorkerData, RunWorkerMessage } from './runWorker';
import { spawnWorker, workerEntry } from './workers';
import { createRunDir, files, isValidRunId, readJson, readMetrics, summarize, updateMeta, writeSummary } from './runStore';
import { validateRunConfig } from './validate';
import { versions } from './versions';

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
}

interface ActiveRun {
  worker: Worker;
  stopFlag: Int32Array;
  stopRequests: number;
  /** A second stop terminated the worker mid-round. */
  terminated: boolean;
  /** The worker reported done or error. */
  finished: boolean;
  summary?: { status: RunStatus; backend: string | null };
  error?: string;
  locked?: boolean;
}

const STARTABLE: RunStatus[] = ['created', 'stopped', 'interrupted', 'failed'];
const RESUMABLE: RunStatus[] = ['stopped', 'interrupted', 'failed'];
const MAX_TAGS = 32;
const MAX_TAG_LEN = 64;

/** Walk up from this file to the folder with package.json holding `name` (works from src/ and out/). */
function findUp(name: string): string | null {
  const electronRes = (process as { resourcesPath?: string }).resourcesPath;
  if (electronRes && fs.existsSync(path.join(electronRes, name))) return path.join(electronRes, name);
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
    dir = path.dirname(dir);
  }
  return null;
}

function defaultWorkerEntry(): string {
  return workerEntry(__dirname, 'runWorker');
}

export function spawnRunWorker(entry: string, data: RunWorkerData): Worker {
  return spawnWorker(entry, data);
}

export function validateTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags) || tags.length > MAX_TAGS || !tags.every((t) => typeof t === 'string' && t.trim().length > 0 && t.length <= MAX_TAG_LEN)) {
    throw new ApiError('invalid-request', `tags: must be an array of at most ${MAX_TAGS} non-empty strings of at most ${MAX_TAG_LEN} characters`);
  }
  return [...new Set(tags.map((t: string) => t.trim()))];
}

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
  private readonly listCache = new Map<string, { key: string; item: RunListItem }>();
  /** Backend of the last finished run that asked for "auto". */
  lastAutoBackend: string | null = null;
  /** This manager's owner token: the run locks it takes for the runs it queues and trains. */
  private readonly token = newOwnerToken();
  /** Release functions of the run locks this manager holds (its queued and running runs). */
  private readonly held = new Map<string, () => void>();

  constructor(opts: RunManagerOptions) {
    this.runsDir = path.resolve(opts.runsDir);
    this.maxConcurrent = opts.maxConcurrent ?? 1;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) throw new Error(`maxConcurrent: must be an integer >= 1, got ${opts.maxConcurrent}`);
    this.clientWorkers = opts.clientWorkers ?? 1;
    if (!Number.isInteger(this.clientWorkers) || this.clientWorkers < 1 || this.clientWorkers > 64) throw new Error(`clientWorkers: must be an integer from 1 to 64, got ${opts.clientWorkers}`);
    this.presetsDir = opts.presetsDir ?? findUp('configs');
    this.configBaseDir = opts.configBaseDir ?? process.cwd();
    this.workerEntry = opts.workerEntry ?? defaultWorkerEntry();
    fs.mkdirSync(this.runsDir, { recursive: true });
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

  /** Rows of the runs list, re-read only when summary.json or meta.json changed (1,000 runs stay cheap). */
  list(): RunListItem[] {
    const items: RunListItem[] = [];
    const seen = new Set<string>();
    for (const e of fs.readdirSync(this.runsDir, { withFileTypes: true })) {
      if (!e.isDirectory() || !isValidRunId(e.name)) continue;
      const dir = path.join(this.runsDir, e.name);
      const mtime = (f: string) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1;
      if (mtime(files(dir).config) < 0) continue;
      const key = `${mtime(files(dir).summary)}:${mtime(files(dir).meta)}`;
      let cached = this.listCache.get(e.name);
      if (!cached || cached.key !== key) this.listCache.set(e.name, (cached = { key, item: runItem(dir) }));
      seen.add(e.name);
      const live = this.liveStatus(e.name);
      items.push(live ? { ...cached.item, status: live } : cached.item);
    }
    for (const id of this.listCache.keys()) if (!seen.has(id)) this.listCache.delete(id);
    return items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id.localeCompare(b.id)));
  }

  get(id: string): RunDetail {
    const dir = this.existing(id);
    return {
      item: runItem(dir, this.liveStatus(id)),
      config: readRunFile<Record<string, unknown>>(dir, 'config'),
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

  presets(): Preset[] {
    if (!this.presetsDir || !fs.existsSync(this.presetsDir)) return [];
    const out: Preset[] = [];
    for (const f of fs.readdirSync(this.presetsDir).filter((n) => n.endsWith('.json')).sort()) {
      let config: Record<string, unknown>;
      try { config = JSON.parse(fs.readFileSync(path.join(this.presetsDir, f), 'utf8')); } catch { continue; }
      if (!config || typeof config !== 'object' || Array.isArray(config)) continue;
      const id = f.replace(/\.json$/, '');
      const v = validateConfig(config);
      const description = v.ok
        ? `${v.config.model.name}, LoRA rank ${v.config.lora.rank}, ${v.config.federation.numClients} clients (${v.config.federation.clientsPerRound} per round), ${v.config.federation.rounds} rounds, compression ${v.config.compression.method}`
        : 'invalid preset: ' + v.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      out.push({ id, title: typeof config.name === 'string' ? config.name : id, description, config });
    }
    return out;
  }

  // ---- writing ----

  create(input: unknown, opts: { start?: 'now' | 'no'; tags?: unknown } = {}): RunListItem {
    const tags = validateTags(opts.tags);
    const v = validateRunConfig(input, this.configBaseDir);
    if (!v.ok) throw new ApiError('invalid-config', v.issues.map((i) => `${i.path || '(config root)'}: ${i.message}`).join('\n'), v.issues);
    const dir = createRunDir(this.runsDir, v.config, versions(), os.cpus().length);
    updateMeta(dir, { tags });
    const id = path.basename(dir);
    this.emitStatus(id);
    if (opts.start === 'now') this.enqueue(id);
    return this.item(id);
  }

  /** Expand a sweep grid into tagged runs (all validated before any is created); optionally queue them. */
  createSweep(spec: unknown, opts: { start?: 'now' | 'no' } = {}): SweepInfo {
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new ApiError('invalid-request', 'sweeps.create: spec must be an object with "name", "base", "grid" and/or "variants"');
    const s = { ...(spec as SweepSpec) };
    const name = typeof s.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/.test(s.name) ? s.name : null;
    if (!name) throw new ApiError('invalid-request', 'sweeps.create: spec.name must be 1-41 letters, digits, dot, dash or underscore (it tags the runs)');
    if (typeof s.base === 'string') {
      const preset = this.presets().find((p) => p.id === s.base);
      if (!preset) throw new ApiError('invalid-request', `sweeps.create: base "${s.base}" is not a preset (${this.presets().map((p) => p.id).join(', ')}); give a preset id or a config object`);
      s.base = preset.config;
    }
    const tag = `sweep:${name}`;
    if (this.list().some((r) => r.tags.includes(tag))) throw new ApiError('conflict', `a sweep named "${name}" exists; choose another name`);
    let planned: PlannedRun[];
    try {
      planned = planSweep(s, this.configBaseDir);
    } catch (e) {
      if (e instanceof SweepError) throw new ApiError('invalid-config', e.message, e.issues);
      throw e;
    }
    for (const run of planned) this.create(run.config, { start: opts.start, tags: [tag, run.label.slice(0, 60)] });
    return this.sweeps().find((x) => x.tag === tag)!;
  }

  /** Class histogram per client and samples of a config's dataset (validated like a run's config). */
  preview(input: unknown): DataPreview {
    const v = validateRunConfig(input, this.configBaseDir);
    if (!v.ok) throw new ApiError('invalid-config', v.issues.map((i) => `${i.path || '(config root)'}: ${i.message}`).join('\n'), v.issues);
    try {
      return dataPreview(v.config, this.configBaseDir);
    } catch (e) {
      throw new ApiError('invalid-config', (e as Error).message, [{ path: 'data.dataset', message: (e as Error).message }]);
    }
  }

  /** Sweeps by tag, with their runs' statuses. */
  sweeps(): SweepInfo[] {
    const by = new Map<string, RunListItem[]>();
    for (const r of this.list()) for (const t of r.tags) if (t.startsWith('sweep:')) by.set(t, [...(by.get(t) ?? []), r]);
    return [...by.entries()].map(([tag, rs]) => {
      const ordered = [...rs].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
      const counts: SweepInfo['counts'] = {};
      for (const r of rs) counts[r.status] = (counts[r.status] ?? 0) + 1;
      return { name: tag.slice('sweep:'.length), tag, total: rs.length, counts, runIds: ordered.map((r) => r.id) };
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  duplicate(id: string, opts: { start?: 'now' | 'no' } = {}): RunListItem {
    const src = this.existing(id);
    const tags = readTags(readRunFile<Record<string, unknown>>(src, 'meta'));
    const v = validateRunConfig(readRunFile(src, 'config'), src);
    if (!v.ok) throw new ApiError('invalid-config', `run ${id} has a config this version cannot run`, v.issues);
    const dir = createRunDir(this.runsDir, v.config, versions(), os.cpus().length);
    updateMeta(dir, { tags, duplicateOf: id });
    const copy = path.basename(dir);
    this.emitStatus(copy);
    if (opts.start === 'now') this.enqueue(copy);
    return this.item(copy);
  }

  start(id: string): RunListItem {
    const status = this.status(id);
    if (!STARTABLE.includes(status)) throw new ApiError('conflict', `run ${id} is ${status}; only ${STARTABLE.join(', ')} runs can be started`);
    this.enqueue(id);
    return this.item(id);
  }

  resume(id: string): RunListItem {
    const status = this.status(id);
    if (!RESUMABLE.includes(status)) throw new ApiError('conflict', `run ${id} is ${status}; only ${RESUMABLE.join(', ')} runs can be resumed${status === 'created' ? ' (start it instead)' : ''}`);
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
      worker = spawnRunWorker(this.workerEntry, { dir, stopFlag, clientWorkers: this.clientWorkers, lockToken: this.token });
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
        this.emit({ type: 'round', runId: id, metrics: m.metrics as unknown as RoundMetrics, totalRounds: m.totalRounds });
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
    const prev = readSummary(dir);
    let rows: { round: number; testAcc: number | null; uplinkBits: number; roundTime: number }[] | null = null;
    try { rows = readMetrics<{ round: number; testAcc: number | null; uplinkBits: number; roundTime: number }>(dir).rows; } catch { /* keep prev numbers */ }
    const s = rows ? summarize(rows, status, prev?.backend ?? null, error) : { ...(prev ?? summarize([], status, null)), status, ...(error ? { error } : {}) };
    if (!error) delete s.error;
    writeSummary(dir, s);
    return true;
  }
}
