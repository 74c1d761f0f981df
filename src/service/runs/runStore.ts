/**
 * The run directory contract (README "Run directory"): config.json, meta.json, metrics.jsonl,
 * summary.json. Every whole-file write is atomic; metrics are appended a line per round.
 */
import type { RunStatus } from '../../contract/api';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig, type ExperimentConfig } from '../../engine/config';
import { appendJsonLine, readJsonLines, writeJsonAtomic } from './fsutil';

export const RUN_FORMAT_VERSION = 1;

/** metrics.jsonl fields measured on the wall clock: everything else is deterministic for a seed. */
export const WALL_CLOCK_FIELDS = ['wallMs', 'compressMs', 'phaseMs'] as const;

/** A metrics row without its wall-clock fields (what two runs of one config must agree on). */
export function deterministicPart<T extends object>(row: T): Partial<T> {
  return Object.fromEntries(Object.entries(row).filter(([k]) => !(WALL_CLOCK_FIELDS as readonly string[]).includes(k))) as Partial<T>;
}

export type { RunStatus } from '../../contract/api';

export interface RunSummary {
  status: RunStatus;
  rounds: number;
  finalAcc: number | null;
  bestAcc: number | null;
  totalUplinkBits: number;
  meanRoundTime: number;
  backend: string | null;
  error?: string;
}

export interface RunMeta {
  formatVersion: number;
  runId: string;
  name: string;
  seed: number;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  backend?: unknown;
  versions: Record<string, string>;
  host: { cores: number; platform: string; arch: string; totalMemGiB: number };
  [extra: string]: unknown;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Run ids are folder names: letters, digits, dot, dash, underscore; no path separators. */
export function isValidRunId(id: string): boolean {
  return ID_RE.test(id) && !id.includes('..');
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'run';
}

export function newRunId(name: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${ts}-${slug(name)}-${crypto.randomBytes(3).toString('hex')}`;
}

/** True when `dir` itself is a symbolic link (a run directory must be a plain folder: no writes through links). */
export function isSymlink(dir: string): boolean {
  return fs.lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
}

export class RunDirError extends Error {}

/** Refuse a run directory that is a symbolic link. */
export function assertPlainRunDir(dir: string): void {
  if (isSymlink(dir)) throw new RunDirError(`${dir} is a symbolic link; a run directory must be a plain folder`);
}

export const files = (dir: string) => ({
  config: path.join(dir, 'config.json'),
  meta: path.join(dir, 'meta.json'),
  metrics: path.join(dir, 'metrics.jsonl'),
  summary: path.join(dir, 'summary.json'),
});

/**
 * Create `<outDir>/<runId>/` with config.json and meta.json, whole: both are written into a temp
 * folder (`.<runId>.<pid>.<ms>.tmp`) that is renamed into place, so a run folder never lacks either
 * (a kill mid-creation leaves only the temp folder, which `cleanStaleTemps(outDir)` removes).
 */
export function createRunDir(outDir: string, config: ExperimentConfig, versions: Record<string, string>, hostCores: number, runId = newRunId(config.name)): string {
  if (!isValidRunId(runId)) throw new Error(`invalid run id "${runId}"`);
  fs.mkdirSync(outDir, { recursive: true });
  const dir = path.join(outDir, runId);
  if (fs.existsSync(dir)) throw Object.assign(new Error(`EEXIST: run directory already exists, mkdir '${dir}'`), { code: 'EEXIST' });
  const tmp = path.join(outDir, `.${runId}.${process.pid}.${Date.now()}.tmp`);
  fs.mkdirSync(tmp);
  try {
    writeJsonAtomic(files(tmp).config, config);
    const meta: RunMeta = {
      formatVersion: RUN_FORMAT_VERSION, runId, name: config.name, seed: config.seed, createdAt: new Date().toISOString(), versions,
      host: { cores: hostCores, platform: process.platform, arch: process.arch, totalMemGiB: Math.round(os.totalmem() / 2 ** 30) },
    };
    writeJsonAtomic(files(tmp).meta, meta);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/**
 * A run's config.json with the defaults of this version filled in: a run created before a config
 * field existed reads it as its default (what that version did), so old runs still resume.
 */
export function readRunConfig(dir: string): ExperimentConfig {
  return parseConfig(readJson<unknown>(files(dir).config));
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** A JSON file, or `fallback` when it is missing or unreadable. */
export function readJsonOr<T>(file: string, fallback: T): T {
  try { return readJson<T>(file); } catch { return fallback; }
}

/** summary.json of a run, or null when there is none yet (or it cannot be read). */
export function readSummary(dir: string): RunSummary | null {
  return readJsonOr<RunSummary | null>(files(dir).summary, null);
}

export function updateMeta(dir: string, patch: Partial<RunMeta>): RunMeta {
  const meta = { ...readJson<RunMeta>(files(dir).meta), ...patch };
  writeJsonAtomic(files(dir).meta, meta);
  return meta;
}

export function appendMetrics(dir: string, row: object): void {
  appendJsonLine(files(dir).metrics, row);
}

export function readMetrics<T = Record<string, unknown>>(dir: string): { rows: T[]; tornLastLine: boolean } {
  return readJsonLines<T>(files(dir).metrics);
}

export function writeSummary(dir: string, summary: RunSummary): void {
  writeJsonAtomic(files(dir).summary, summary);
}

/** Summary from the metrics rows so far. */
export function summarize(rows: { round: number; testAcc: number | null; uplinkBits: number; roundTime: number }[], status: RunStatus, backend: string | null, error?: string): RunSummary {
  const accs = rows.map((r) => r.testAcc).filter((a): a is number => typeof a === 'number');
  const last = rows.length ? rows[rows.length - 1] : null;
  return {
    status,
    rounds: last ? last.round : 0,
    finalAcc: last && typeof last.testAcc === 'number' ? last.testAcc : accs.length ? accs[accs.length - 1] : null,
    bestAcc: accs.length ? Math.max(...accs) : null,
    totalUplinkBits: rows.reduce((a, r) => a + r.uplinkBits, 0),
    meanRoundTime: rows.length ? rows.reduce((a, r) => a + r.roundTime, 0) / rows.length : 0,
    backend,
    ...(error ? { error } : {}),
  };
}

/** Rewrite summary.json with a new status, its numbers recomputed from metrics.jsonl (kept as they were when that cannot be read). */
export function rewriteSummary(dir: string, status: RunStatus, error?: string): void {
  type Row = { round: number; testAcc: number | null; uplinkBits: number; roundTime: number };
  const prev = readSummary(dir);
  let rows: Row[] | null = null;
  try { rows = readMetrics<Row>(dir).rows; } catch { /* keep prev numbers */ }
  const s = rows ? summarize(rows, status, prev?.backend ?? null, error) : { ...(prev ?? summarize([], status, null)), status, ...(error ? { error } : {}) };
  if (!error) delete s.error;
  writeSummary(dir, s);
}
