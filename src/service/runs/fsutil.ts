/**
 * Crash-safe file writes: temp file + fsync + rename, and whole-line appends. A killed writer
 * leaves only its temp file (`.<name>.<pid>.<ms>.tmp`), which `cleanStaleTemps` removes once that
 * pid is gone. `FEDLORA_CRASH_AT` is a test hook (bench/crash.ts) that kills the process at a
 * named point of a round; unset, it costs one comparison per write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Test hook: a function that may throw before any write (to simulate a full or read-only disk). */
let writeFault: ((file: string) => void) | null = null;
export function injectWriteFault(fault: ((file: string) => void) | null): void { writeFault = fault; }

/** When this process started (ms since the epoch; the same in every thread). */
export const PROCESS_START_MS = Date.now() - process.uptime() * 1000;

/** True when a process with this pid exists on this host (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

// ---- crash hook ----

/**
 * `FEDLORA_CRASH_AT="<point>:<round>"`: SIGKILL this process when `crashPoint(point)` is reached
 * while the runner works on that round. Points: round-start, metrics-torn (half a line appended),
 * metrics-appended, sidecar-tmp, checkpoint-after-sidecar, checkpoint-tmp, checkpoint-after-data,
 * summary-tmp, round-end (`<kind>-tmp`: the temp file is written, not yet renamed into place).
 */
const CRASH_AT = ((v) => {
  const m = v ? /^([a-z-]+):(\d+)$/.exec(v) : null;
  return m ? { point: m[1], round: Number(m[2]) } : null;
})(process.env.FEDLORA_CRASH_AT);
let crashRound = 0;

/** The round the crash hook compares with (set by the runner as each round begins). */
export function setCrashRound(round: number): void { crashRound = round; }

export function crashPoint(point: string): void {
  if (CRASH_AT === null || CRASH_AT.point !== point || CRASH_AT.round !== crashRound) return;
  process.kill(process.pid, 'SIGKILL');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000); // the signal is on its way
}

/** The crash-hook name of a file's temp stage: summary-tmp, checkpoint-tmp, sidecar-tmp, ... */
function tmpPoint(file: string): string {
  const b = path.basename(file);
  return b.endsWith('.safetensors') ? 'checkpoint-tmp' : b.endsWith('.sha256') ? 'sidecar-tmp' : `${b.replace(/\.[a-z]+$/, '')}-tmp`;
}

// ---- writes ----

/** Write all of `data` at the file's position: a short write (a disk filling up) is continued, or fails with its error. */
function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length;) {
    const n = fs.writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device (short write)'), { code: 'ENOSPC' });
    off += n;
  }
}

/** Write `data` to `file` atomically: readers see the old or the new file, never a torn one. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | null = null;
  try {
    writeFault?.(file);
    fd = fs.openSync(tmp, 'w');
    writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    if (CRASH_AT) crashPoint(tmpPoint(file));
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) try { fs.closeSync(fd); } catch { /* already failing */ }
    try { fs.unlinkSync(tmp); } catch { /* may not exist */ }
    throw e;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Append one JSON object as one line, in a single write, then fsync. */
export function appendJsonLine(file: string, value: unknown): void {
  appendJsonLines(file, [value]);
}

/** Append whole lines with one write and one fsync (a batch of rounds). */
export function appendJsonLines(file: string, values: unknown[]): void {
  if (!values.length) return;
  writeFault?.(file);
  const text = Buffer.from(values.map((v) => JSON.stringify(v) + '\n').join(''));
  const fd = fs.openSync(file, 'a');
  try {
    if (CRASH_AT?.point === 'metrics-torn' && CRASH_AT.round === crashRound) {
      writeAll(fd, text.subarray(0, text.length >> 1));
      fs.fsyncSync(fd);
      crashPoint('metrics-torn');
    }
    writeAll(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Read a JSON-lines file. A line counts once its newline is written: an unterminated last line (a
 * crash mid-append) is skipped and reported, even when it happens to parse.
 */
export function readJsonLines<T = unknown>(file: string): { rows: T[]; tornLastLine: boolean } {
  if (!fs.existsSync(file)) return { rows: [], tornLastLine: false };
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const torn = lines.pop()!.trim().length > 0; // what follows the last newline
  const rows: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch (e) {
      throw new Error(`${file}: line ${i + 1} is not valid JSON (${(e as Error).message.slice(0, 80)})`);
    }
  }
  return { rows, tornLastLine: torn };
}

// ---- stale temp files ----

const TMP = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

/** Whether a temp file name (`.<name>.<pid>.<ms>.tmp`) belongs to a writer that is gone. */
export function isStaleTemp(name: string): boolean {
  const m = TMP.exec(name);
  if (!m) return false;
  const pid = Number(m[2]), at = Number(m[3]);
  if (pid === process.pid) return at < PROCESS_START_MS - 2000; // an earlier process with our pid
  return !pidAlive(pid);
}

/**
 * Remove the temp files of dead writers (killed mid-write) in a run directory and its
 * checkpoints/ folder, or in a runs folder (half-created run folders); those of live processes
 * are left alone. Returns the removed paths.
 */
export function cleanStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  for (const d of [dir, path.join(dir, 'checkpoints')]) {
    let names: string[];
    try { names = fs.readdirSync(d); } catch { continue; }
    for (const n of names) {
      if (!isStaleTemp(n)) continue;
      try { fs.rmSync(path.join(d, n), { recursive: true }); removed.push(path.join(d, n)); } catch { /* gone already */ }
    }
  }
  return removed;
}
