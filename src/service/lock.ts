/**
 * One writer per run directory: `run.lock` holds the writer's pid and host, created with O_EXCL.
 * A lock whose process is gone (same host) is stale and taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export class RunLockedError extends Error {}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export function lockOwner(dir: string): { pid: number; host: string } | null {
  try { return JSON.parse(fs.readFileSync(path.join(dir, 'run.lock'), 'utf8')); } catch { return null; }
}

/** True when a live process (on this host) holds the run's lock. */
export function isLocked(dir: string): boolean {
  const o = lockOwner(dir);
  return !!o && (o.host !== os.hostname() || alive(o.pid));
}

export function acquireRunLock(dir: string): () => void {
  const file = path.join(dir, 'run.lock');
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      return () => { if (lockOwner(dir)?.pid === process.pid) fs.rmSync(file, { force: true }); };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const o = lockOwner(dir);
      if (o && (o.host !== os.hostname() || alive(o.pid)) && o.pid !== process.pid) {
        throw new RunLockedError(`run ${path.basename(dir)} is being written by process ${o.pid} on ${o.host}; stop it first`);
      }
      fs.rmSync(file, { force: true }); // stale
    }
  }
  throw new RunLockedError(`could not lock ${file}`);
}
