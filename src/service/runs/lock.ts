/**
 * One owner per run directory: `run.lock` holds the owner's pid, host, boot id, process start
 * time and a random token. It appears whole (written to a temp file, then hard-linked into place,
 * which fails when a lock exists). A lock is stale when its process is gone on this host (dead
 * pid, another boot, or our own pid left by an earlier process); locks of other hosts never are.
 *
 * Taking over a stale lock is atomic: the taker first creates a claim file named after that
 * lock's exact content (`run.lock.takeover-<hash>-<n>`, O_EXCL), then re-reads run.lock, and only
 * if it still holds that content removes it and links its own. Every lock's content is unique
 * (its token), so at most one live process may remove a given stale lock; a claimer that dies is
 * passed over through the next claim number. The owner token lets one process hold locks for
 * others (a RunManager for the runs it queued; its worker adopts them).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROCESS_START_MS, pidAlive } from './fsutil';

export class RunLockedError extends Error {}

export interface LockOwner { pid: number; host: string; bootId?: string; procStart?: number; since?: string; token?: string }

const LOCK = 'run.lock';
const CLAIM = /^run\.lock\.takeover-([0-9a-f]{16})-(\d+)$/;
/** A claim this old is abandoned whatever its pid says (a takeover takes microseconds; pids get reused). */
const CLAIM_TTL_MS = 30_000;
const BOOT_ID = (() => { try { return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { return undefined; } })();

export function newOwnerToken(): string { return crypto.randomBytes(12).toString('hex'); }

function parse(text: string | null): LockOwner | null {
  if (text === null) return null;
  try {
    const o = JSON.parse(text) as LockOwner;
    return o && typeof o === 'object' && typeof o.pid === 'number' && typeof o.host === 'string' ? o : null;
  } catch { return null; }
}

function readText(file: string): string | null {
  try { return fs.readFileSync(file, 'utf8'); } catch { return null; }
}

/** A lock no live process holds: torn, dead pid on this host, another boot, or an earlier process with our pid. */
export function isStale(o: LockOwner | null): boolean {
  if (!o) return true;
  if (o.host !== os.hostname()) return false;
  if (o.bootId && BOOT_ID && o.bootId !== BOOT_ID) return true;
  if (o.pid === process.pid) return typeof o.procStart !== 'number' || Math.abs(o.procStart - PROCESS_START_MS) > 10_000;
  return !pidAlive(o.pid);
}

export function lockOwner(dir: string): LockOwner | null {
  return parse(readText(path.join(dir, LOCK)));
}

/** True when a live process (or a process on another host) holds the run's lock. */
export function isLocked(dir: string): boolean {
  const text = readText(path.join(dir, LOCK));
  return text !== null && !isStale(parse(text));
}

/** True when the run's lock is held, and not under `token` (another process or another manager). */
export function heldByOther(dir: string, token?: string): boolean {
  const o = lockOwner(dir);
  return isLocked(dir) && !(token && o?.token === token);
}

function sleepMs(ms: number): void { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); }

/**
 * Create `file` with `content`, whole, unless it exists: the content goes to a temp file that is
 * hard-linked into place (link fails on an existing name). True on success, false on EEXIST.
 */
function linkNew(file: string, content: string): boolean {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}-${crypto.randomBytes(3).toString('hex')}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, content);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    try { fs.writeFileSync(file, content, { flag: 'wx' }); return true; } catch (e2) { if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false; throw e2; }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Put a lock with our identity in place if none exists. */
function create(file: string, token: string): boolean {
  return linkNew(file, JSON.stringify({ pid: process.pid, host: os.hostname(), bootId: BOOT_ID, procStart: Math.round(PROCESS_START_MS), since: new Date().toISOString(), token }));
}

const hashOf = (text: string) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * Remove the stale lock whose content is `stale`, if it is still in place and no live process is
 * already taking it over. 'removed': it is gone (we removed it); 'busy': a live claimer works on
 * it; 'changed': run.lock is no longer that lock.
 */
function takeOver(dir: string, stale: string): 'removed' | 'busy' | 'changed' {
  const h = hashOf(stale);
  for (let n = 0; n < 64; n++) {
    const claim = path.join(dir, `${LOCK}.takeover-${h}-${n}`);
    if (!linkNew(claim, String(process.pid))) {
      const claimer = Number(readText(claim));
      const age = Date.now() - (fs.statSync(claim, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < CLAIM_TTL_MS && (claimer === process.pid || pidAlive(claimer))) return 'busy';
      continue; // that claimer died (or is long stuck): the next number
    }
    if (readText(path.join(dir, LOCK)) !== stale) { fs.rmSync(claim, { force: true }); return 'changed'; }
    fs.rmSync(path.join(dir, LOCK), { force: true }); // only the claim holder removes this content
    removeClaims(dir, h);
    return 'removed';
  }
  return 'busy';
}

/** Claim files of one stale lock (all numbers), once that lock is gone. */
function removeClaims(dir: string, h?: string): void {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  const current = readText(path.join(dir, LOCK));
  for (const n of names) {
    const m = CLAIM.exec(n);
    if (!m || (h !== undefined && m[1] !== h)) continue;
    if (h === undefined && current !== null && hashOf(current) === m[1]) continue; // that lock is still there
    fs.rmSync(path.join(dir, n), { force: true });
  }
}

/** Claim files left by takers that died after the lock they claimed was gone (safe to remove). */
export function cleanStaleClaims(dir: string): void { removeClaims(dir); }

/**
 * Take the run's lock under `token` (default: a new one). Held already under the same token:
 * re-entrant. Held by a live owner: RunLockedError. Returns the release function, which removes
 * the lock only while it is still ours.
 */
export function acquireRunLock(dir: string, opts: { token?: string } = {}): () => void {
  const file = path.join(dir, LOCK);
  const token = opts.token ?? newOwnerToken();
  const release = () => { if (lockOwner(dir)?.token === token) fs.rmSync(file, { force: true }); };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (create(file, token)) return release;
    const text = readText(file);
    if (text === null) continue; // released meanwhile
    const o = parse(text);
    if (o?.token === token && !isStale(o)) return release;
    if (!isStale(o)) throw new RunLockedError(`run ${path.basename(dir)} is being written by process ${o!.pid} on ${o!.host}; stop it first`);
    const r = takeOver(dir, text);
    if (r === 'busy') sleepMs(2 + attempt);
  }
  const o = lockOwner(dir);
  throw new RunLockedError(`could not lock ${file}${o ? ` (held by process ${o.pid} on ${o.host})` : ''}`);
}

/** Use a lock taken under `token` by this process's run manager; RunLockedError when it is not ours. */
export function adoptRunLock(dir: string, token: string): () => void {
  const o = lockOwner(dir);
  if (o?.token !== token || isStale(o)) {
    throw new RunLockedError(`run ${path.basename(dir)} is not held by this run manager${o ? ` (run.lock: process ${o.pid} on ${o.host})` : ' (no run.lock)'}`);
  }
  return () => { /* the manager releases it */ };
}
