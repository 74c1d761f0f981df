/**
 * Read-side views of a run directory for the API: the list row (`RunListItem`, from config.json,
 * meta.json and summary.json only) and the run log (`run.log`, one line per log message).
 */
import { upgradeConfig } from '../../engine/config';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiError, type RunListItem, type RunStatus } from '../../contract/api';
import { files, isValidRunId, readJsonOr, readSummary, type RunMeta } from './runStore';

export const LOG_FILE = 'run.log';

const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function readTags(meta: Record<string, unknown>): string[] {
  return Array.isArray(meta.tags) ? meta.tags.filter((t): t is string => typeof t === 'string') : [];
}

/**
 * The list row of a run. `liveStatus` (queued/running as the manager knows it) wins over the file;
 * fields of config sections that may be absent (`control`) are read defensively.
 */
export function runItem(dir: string, liveStatus?: RunStatus): RunListItem {
  const config = upgradeConfig(readJsonOr<Record<string, unknown>>(files(dir).config, {})) as Record<string, unknown>;
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
    latencyBudgetS: numOrNull(control.latencyBudgetS),
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

const MAX_TAGS = 32;
const MAX_TAG_LEN = 64;

/** Tags given to runs.create: at most 32 non-empty strings of at most 64 characters, trimmed, unique. */
export function validateTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags) || tags.length > MAX_TAGS || !tags.every((t) => typeof t === 'string' && t.trim().length > 0 && t.length <= MAX_TAG_LEN)) {
    throw new ApiError('invalid-request', `tags: must be an array of at most ${MAX_TAGS} non-empty strings of at most ${MAX_TAG_LEN} characters`);
  }
  return [...new Set(tags.map((t: string) => t.trim()))];
}

/** The runs list of a folder, each row re-read only when its summary.json or meta.json changed (1,000 runs stay cheap). */
export class RunListCache {
  private readonly cache = new Map<string, { key: string; item: RunListItem }>();

  constructor(private readonly runsDir: string) {}

  /** Newest first (ties by id). */
  items(): RunListItem[] {
    const items: RunListItem[] = [];
    const seen = new Set<string>();
    for (const e of fs.readdirSync(this.runsDir, { withFileTypes: true })) {
      if (!e.isDirectory() || !isValidRunId(e.name)) continue;
      const dir = path.join(this.runsDir, e.name);
      const mtime = (f: string) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1;
      if (mtime(files(dir).config) < 0) continue;
      const key = `${mtime(files(dir).summary)}:${mtime(files(dir).meta)}`;
      let cached = this.cache.get(e.name);
      if (!cached || cached.key !== key) this.cache.set(e.name, (cached = { key, item: runItem(dir) }));
      seen.add(e.name);
      items.push(cached.item);
    }
    for (const id of this.cache.keys()) if (!seen.has(id)) this.cache.delete(id);
    return items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id.localeCompare(b.id)));
  }
}
