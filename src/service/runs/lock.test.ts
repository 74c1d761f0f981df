import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireRunLock, adoptRunLock, cleanStaleClaims, heldByOther, isLocked, lockOwner, newOwnerToken, RunLockedError } from './lock';

const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-lock-'));
const plant = (dir: string, o: unknown) => fs.writeFileSync(path.join(dir, 'run.lock'), typeof o === 'string' ? o : JSON.stringify(o));

describe('run lock', () => {
  it('takes over a stale lock (dead pid, torn file, another boot, an earlier process with our pid) but never a live one', () => {
    const dir = tmp();
    for (const stale of [{ pid: deadPid(), host: os.hostname() }, '', '{"pid":', { pid: process.ppid, host: os.hostname(), bootId: 'another-boot' },
      { pid: process.pid, host: os.hostname(), procStart: Date.now() - 3_600_000 }]) {
      plant(dir, stale);
      expect(isLocked(dir), JSON.stringify(stale)).toBe(false);
      const release = acquireRunLock(dir);
      expect(lockOwner(dir)).toMatchObject({ pid: process.pid, host: os.hostname() });
      release();
      expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false);
    }
    for (const live of [{ pid: process.ppid, host: os.hostname() }, { pid: deadPid(), host: 'another-host' }]) {
      plant(dir, live);
      expect(isLocked(dir)).toBe(true);
      expect(() => acquireRunLock(dir)).toThrow(RunLockedError);
    }
    expect(fs.readdirSync(dir)).toEqual(['run.lock']); // no claim or temp file left behind
  });

  it('an owner token: re-entrant for its holder, refused to other holders in the same process, adopted only by its holder', () => {
    const dir = tmp();
    const a = newOwnerToken(), b = newOwnerToken();
    const release = acquireRunLock(dir, { token: a });
    expect(() => acquireRunLock(dir, { token: a })).not.toThrow();
    expect(() => acquireRunLock(dir, { token: b })).toThrow(RunLockedError);
    expect(() => acquireRunLock(dir)).toThrow(RunLockedError);
    expect(heldByOther(dir, a)).toBe(false);
    expect(heldByOther(dir, b)).toBe(true);
    expect(() => adoptRunLock(dir, a)).not.toThrow();
    expect(() => adoptRunLock(dir, b)).toThrow(/not held by this run manager/);
    // a release by a former holder does not remove a lock someone else holds now
    release();
    const rb = acquireRunLock(dir, { token: b });
    release();
    expect(lockOwner(dir)?.token).toBe(b);
    rb();
    expect(isLocked(dir)).toBe(false);
  });

  it('passes over the claim of a taker that died mid-takeover, and cleans claims once their lock is gone', () => {
    const dir = tmp();
    const stale = JSON.stringify({ pid: deadPid(), host: os.hostname() });
    plant(dir, stale);
    const h = require('node:crypto').createHash('sha256').update(stale).digest('hex').slice(0, 16);
    fs.writeFileSync(path.join(dir, `run.lock.takeover-${h}-0`), String(deadPid()));
    const release = acquireRunLock(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['run.lock']);
    release();
    // a claim left for a lock that is gone is removed by cleanStaleClaims; one for the current lock is kept
    fs.writeFileSync(path.join(dir, 'run.lock.takeover-0123456789abcdef-0'), String(deadPid()));
    plant(dir, stale);
    fs.writeFileSync(path.join(dir, `run.lock.takeover-${h}-0`), String(process.pid));
    cleanStaleClaims(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['run.lock', `run.lock.takeover-${h}-0`]);
  });

  it('4 processes racing for the same stale lock: exactly one holder in each of 300 trials', async () => {
    const root = tmp(), trials = 300, children = 4, dead = deadPid();
    for (let t = 0; t < trials; t++) {
      const dir = path.join(root, `t${t}`);
      fs.mkdirSync(dir);
      // most trials: a dead pid's lock; some: a torn lock file, or a dead taker's claim as well
      const stale = t % 10 === 3 ? '' : JSON.stringify({ pid: dead, host: os.hostname(), since: `trial ${t}` });
      plant(dir, stale);
      if (t % 10 === 7) {
        const h = require('node:crypto').createHash('sha256').update(stale).digest('hex').slice(0, 16);
        fs.writeFileSync(path.join(dir, `run.lock.takeover-${h}-0`), String(dead));
      }
    }
    const child = path.join(__dirname, 'lockRaceChild.ts');
    const codes = await Promise.all(Array.from({ length: children }, (_, c) => new Promise<number | null>((resolve) => {
      spawn(process.execPath, ['--import', 'tsx', child, root, String(c), String(trials), String(children)], { stdio: 'inherit' }).on('exit', resolve);
    })));
    expect(codes).toEqual([0, 0, 0, 0]);
    const got = Array.from({ length: children }, (_, c) => JSON.parse(fs.readFileSync(path.join(root, `result-${c}.json`), 'utf8')) as number[]);
    const holders = got[0].map((_, t) => got.reduce((a, g) => a + g[t], 0));
    const bad = holders.map((h, t) => ({ t, h })).filter((x) => x.h !== 1);
    expect(bad, `trials without exactly one holder: ${JSON.stringify(bad.slice(0, 10))}`).toEqual([]);
    expect(got.every((g) => g.length === trials)).toBe(true);
  });
});
