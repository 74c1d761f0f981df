/**
 * Read-side views of a run directory for the API: the list row (`RunListItem`, from config.json,
 * meta.json and summary.json only) and the run log (`run.log`, one line per log message).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunListItem, RunStatus } from '../shared/api';
import { files, readJson, type RunMeta, type RunSummary } from './runStore';

export const LOG_FILE = 'run.log';

function readJsonOr<T>(file: string, fallback: T): T {
  try { return readJson<T>(file); } catch { return fallback; }
}

const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function readSummary(dir: string): RunSummary | null {
  return readJsonOr<RunSummary | null>(files(dir).summary, null);
}

export function readTags(meta: Record<string, unknown>): string[] {
  return Array.isArray(meta.tags) ? meta.tags.filter((t): t is string => typeof t === 'string') : [];
}

/**
 * The list row of a run. `liveStatus` (queued/running as the manager knows it) wins over the file;
 * fields of config sections that may be absent (`control`) are read defensively.
 */
export function runItem(dir: string, liveStatus?: RunStatus): RunListItem {
  const config = readJsonOr<Record<string, unknown>>(files(dir).config, {});
  const meta = readJsonOr<Partial<RunMeta>>(files(dir).meta, {});
  const summary = readSummary(dir);
  const control = obj(config.control);
  const rank = obj(config.lora).rank;
  return {
    id: path.basename(dir),
    name: typeof meta.name === 'string' ? meta.name : typeof config.name === 'string' ? config.name : path.basename(dir),
    status: liveStatus ?? summary?.status ?? 'created',
    createdAt: typeof meta.createdAt === 'string' ? meta.createdAt : '',
    method: String(obj(config.compression).method ?? 'none'),
    controller: typeof control.method === 'string' ? control.method : null,
    rank: typeof rank === 'number' || typeof rank === 'string' ? rank : '',
    roundsDone: num(summary?.rounds, 0),
    rounds: num(obj(config.federation).rounds, 0),
    finalAcc: numOrNull(summary?.finalAcc),
    bestAcc: numOrNull(summary?.bestAcc),
    totalUplinkBits: num(summary?.totalUplinkBits, 0),
    meanRoundTime: num(summary?.meanRoundTime, 0),
    latencyBudget: numOrNull(control.latencyBudget),
    tags: readTags(meta as Record<string, unknown>),
    ...(summary?.error ? { error: summary.error } : {}),
  };
}

export function appendLog(dir: string, line: string): void {
  fs.appendFileSync(path.join(dir, LOG_FILE), line.replace(/\n/g, ' ') + '\n');
}

/** The last `n` lines of the run log (newest last); reads at most the file's last 256 KiB. */
export function tailLog(dir: string, n = 200): string[] {
  const file = path.join(dir, LOG_FILE);
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch { return []; }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
    if (len < size) lines.shift(); // first line may be cut
    return lines.slice(-n);
  } finally {
    fs.closeSync(fd);
  }
}
