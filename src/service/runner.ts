/**
 * Executes one run in the current thread (call it from a worker): loads data and model, builds the
 * trainer, runs the rounds, appends metrics and keeps summary.json current.
 */
import * as os from 'node:os';
import { initBackend, type BackendPreference } from '../engine/backend';
import { resolved, withRank, type ExperimentConfig, type ResolvedConfig } from '../engine/config';
import { runOfflineStage, type OfflineResult } from '../engine/fl/offline';
import { FederatedTrainer, type LocalTrainerPool, type RoundMetrics } from '../engine/fl/federated';
import { configPartition, loadTaskData } from './data/datasets';
import { loadModel } from './data/models';
import { appendMetrics, assertPlainRunDir, files, readJson, readMetrics, readRunConfig, summarize, updateMeta, writeSummary, type RunSummary } from './runs/runStore';
import { discardCheckpointsAfter, findCheckpoint, saveCheckpoint } from './runs/checkpoint';
import { cleanStaleTemps, crashPoint, setCrashRound, writeFileAtomic } from './runs/fsutil';
import { acquireRunLock, adoptRunLock, cleanStaleClaims } from './runs/lock';
import { ClientWorkerPool } from './clientPool';

export type ClosablePool = LocalTrainerPool & { close(): Promise<void> };

/** What a client pool needs to know of the run it trains for. */
export interface ClientPoolContext { dir: string; config: ExperimentConfig; rank: number | null; backend: string; log(line: string): void }

export interface RunHooks {
  onRound?(m: RoundMetrics, totalRounds: number): void;
  onLog?(line: string): void;
  /** The backend the run trains on, once it is initialised (meta.json has it from then on). */
  onBackend?(name: string): void;
  /** Polled between rounds; true stops the run gracefully after the current round. */
  shouldStop?(): boolean;
  /** Train each round's clients on this many worker threads (1 = this thread). Results are identical. */
  clientWorkers?: number;
  /** Train each round's clients with this pool instead (e.g. workers on other machines through a queue); closed when the run ends. */
  clientPool?(ctx: ClientPoolContext): Promise<ClosablePool>;
  /** The run lock was taken under this owner token (by the run manager that queued the run): use it, do not take or release one. */
  lockToken?: string;
}

/**
 * Train a run directory to its last round (or a stop), resuming from its newest usable
 * checkpoint. The caller must own the run: it takes the run lock (or adopts the manager's), then
 * removes the temp files dead writers left.
 */
export async function executeRun(dir: string, hooks: RunHooks = {}): Promise<RunSummary> {
  assertPlainRunDir(dir);
  const release = hooks.lockToken ? adoptRunLock(dir, hooks.lockToken) : acquireRunLock(dir);
  try {
    cleanStaleClaims(dir);
    const removed = cleanStaleTemps(dir);
    if (removed.length) hooks.onLog?.(`removed ${removed.length} temp file(s) left by killed writers`);
    return await executeLocked(dir, hooks);
  } finally {
    release();
  }
}

async function executeLocked(dir: string, hooks: RunHooks): Promise<RunSummary> {
  const config = readRunConfig(dir);
  const log = (s: string) => hooks.onLog?.(s);
  let backendName: string | null = null;
  const rows: RoundMetrics[] = [];
  try {
    const backend = await initBackend(config.backend as BackendPreference);
    backendName = backend.name;
    updateMeta(dir, { startedAt: new Date().toISOString(), backend, pid: process.pid, hostCores: os.cpus().length });
    hooks.onBackend?.(backend.name);
    log(`backend ${backend.name}${backend.skipped.length ? ` (skipped: ${backend.skipped.map((s) => s.name).join(', ')})` : ''}`);
    const trainer = await buildTrainer(config, dir, (o) => {
      updateMeta(dir, { offline: o });
      log(`offline stage: rank ${o.chosenRank} chosen from ${o.candidates.map((c) => c.rank).join(', ')}${o.feasible ? '' : ' (no candidate meets the budget: using the smallest)'}`);
    }, readJson<{ offline?: OfflineResult }>(files(dir).meta).offline, log);
    log(`${trainer.numTrainableParams} trainable parameters; ${config.federation.numClients} clients, ${config.federation.clientsPerRound} per round`);
    // one GPU device per run: its clients train one after another on it (worker threads are for wasm's cores)
    const asked = hooks.clientWorkers ?? 1;
    const workers = backend.name === 'webgpu' ? 1 : Math.max(1, Math.min(asked, config.federation.clientsPerRound));
    if (backend.name === 'webgpu' && asked > 1) log(`webgpu: clients train one after another on the GPU (${asked} client workers asked for)`);
    let pool: ClosablePool | undefined;
    try {
      if (hooks.clientPool) {
        const rank = typeof config.lora.rank === 'number' ? config.lora.rank : readJson<{ offline?: OfflineResult }>(files(dir).meta).offline?.chosenRank ?? null;
        pool = await hooks.clientPool({ dir, config, rank, backend: backend.name, log });
      } else if (workers > 1) {
        pool = await ClientWorkerPool.create(workers, trainer.workerInit(), backend.name);
        log(`training clients on ${workers} worker threads`);
      }
      updateMeta(dir, { execution: { clientWorkers: workers } });
      rows.push(...resumeFromCheckpoint(dir, trainer, log));
      writeSummary(dir, summarize(rows, 'running', backendName));
      while (trainer.state.round < config.federation.rounds) {
        setCrashRound(trainer.state.round + 1);
        crashPoint('round-start');
        const m = await trainer.runRoundWith(pool);
        appendMetrics(dir, m);
        crashPoint('metrics-appended');
        rows.push(m);
        if (m.round % config.checkpoint.every === 0 || m.round === config.federation.rounds) {
          saveCheckpoint(dir, trainer.state, {}, config.checkpoint.keep);
        }
        hooks.onRound?.(m, config.federation.rounds);
        writeSummary(dir, summarize(rows, 'running', backendName));
        crashPoint('round-end');
        if (hooks.shouldStop?.() && trainer.state.round < config.federation.rounds) {
          const s = summarize(rows, 'stopped', backendName);
          writeSummary(dir, s);
          updateMeta(dir, { endedAt: new Date().toISOString() });
          return s;
        }
      }
    } finally {
      trainer.dispose();
      await pool?.close();
    }
    const s = summarize(rows, 'completed', backendName);
    writeSummary(dir, s);
    updateMeta(dir, { endedAt: new Date().toISOString() });
    return s;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    try {
      writeSummary(dir, summarize(readMetrics<RoundMetrics>(dir).rows, 'failed', backendName, msg));
      updateMeta(dir, { endedAt: new Date().toISOString() });
    } catch (e2) {
      log(`could not record the failure in summary.json: ${(e2 as Error).message}`);
    }
    throw e;
  }
}

/**
 * Continue from the newest usable checkpoint: restore the trainer and cut metrics.jsonl back to the
 * rounds it covers (a crash may have appended rounds after it). Unusable newer checkpoints are
 * reported and removed; with none usable the run starts over from round 0 (metrics.jsonl emptied),
 * which gives the same rows as an uninterrupted run: every random draw depends on (seed, round).
 * Returns the kept rows.
 */
function resumeFromCheckpoint(dir: string, trainer: FederatedTrainer, log: (s: string) => void): RoundMetrics[] {
  const { rows, tornLastLine } = readMetrics<RoundMetrics>(dir);
  if (tornLastLine) log('metrics.jsonl: ignored a torn last line (the process died mid-write)');
  const { checkpoint: ck, skipped } = findCheckpoint(dir);
  for (const s of skipped) log(`checkpoint skipped: ${s}`);
  const upTo = ck ? ck.state.round : 0;
  if (ck) {
    trainer.restore(ck.state);
    log(`resuming after round ${upTo}`);
  } else if (skipped.length || rows.length) {
    log(`no usable checkpoint: starting over from round 0${rows.length ? ` (the ${rows.length} round(s) in metrics.jsonl are redone)` : ''}`);
  }
  if (skipped.length) discardCheckpointsAfter(dir, upTo);
  const kept = rows.filter((r) => r.round <= upTo);
  if (kept.length !== rows.length || tornLastLine) {
    writeFileAtomic(files(dir).metrics, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }
  return kept;
}

/** Model, input rows and partition of a config (paths already absolute); `notes`: what the loaders decided (token statistics, unused tensors). */
export function loadRunInputs(config: ExperimentConfig, baseDir: string) {
  const model = loadModel(config, baseDir);
  const { train: trainP, test: testP, notes } = loadTaskData(config, model, baseDir);
  const parts = configPartition(config, trainP.y, trainP.numClasses);
  return { model, train: trainP, test: testP, partition: parts, notes: [...model.notes, ...notes] };
}

/**
 * Data, partition, model and trainer for a config. With lora.rank "auto" the offline stage runs
 * first (or its earlier result `offline` is reused, so a resumed run keeps its rank) and
 * `onOffline` receives a fresh result to record; `onNote` the loaders' notes.
 */
export async function buildTrainer(config: ExperimentConfig, baseDir: string, onOffline?: (o: OfflineResult) => void, offline?: OfflineResult, onNote?: (s: string) => void): Promise<FederatedTrainer> {
  const { model, train, test, partition: parts, notes } = loadRunInputs(config, baseDir);
  for (const n of notes) onNote?.(n);
  let rc: ResolvedConfig;
  if (config.lora.rank === 'auto') {
    if (!offline) {
      offline = await runOfflineStage({ config, spec: model.spec, base: model.weights, train, shardSizes: parts.map((p) => p.length) });
      onOffline?.(offline);
    }
    rc = withRank(config, offline.chosenRank);
  } else rc = resolved(config);
  return new FederatedTrainer({ config: rc, spec: model.spec, base: model.weights, train, test, partition: parts });
}
