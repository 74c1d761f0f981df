/** Crash-safe file writes: temp file + fsync + rename, and whole-line appends. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Test hook: a function that may throw before any write (to simulate a full or read-only disk). */
let writeFault: ((file: string) => void) | null = null;
export function injectWriteFault(fault: ((file: string) => void) | null): void { writeFault = fault; }

/** Write `data` to `file` atomically: readers see the old or the new file, never a torn one. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | null = null;
  try {
    writeFault?.(file);
    fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
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
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, values.map((v) => JSON.stringify(v) + '\n').join(''));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Read a JSON-lines file; a torn last line (a crash mid-append) is skipped and reported. */
export function readJsonLines<T = unknown>(file: string): { rows: T[]; tornLastLine: boolean } {
  if (!fs.existsSync(file)) return { rows: [], tornLastLine: false };
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const rows: T[] = [];
  let torn = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch (e) {
      if (i >= lines.length - 2 && !text.endsWith('\n')) { torn = true; break; }
      throw new Error(`${file}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
  }
  return { rows, tornLastLine: torn };
}
