/**
 * Test helper (lock.test.ts): one of several processes racing for the same stale run locks.
 *   node --import tsx lockRaceChild.ts <root> <child> <trials> <children> [lockModule]
 * For each trial folder `<root>/t<i>` (holding a planted stale run.lock) it marks itself ready,
 * waits until every child is ready (a file barrier), then tries to take the lock and keeps it.
 * Writes `<root>/result-<child>.json`: per trial, 1 if it got the lock, else 0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

async function main(): Promise<void> {
  const [root, child, trials, children, lockModule] = process.argv.slice(2);
  const { acquireRunLock } = (await import(lockModule ?? './lock')) as typeof import('./lock');
  const n = Number(trials), k = Number(children);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const got: number[] = [];
  for (let t = 0; t < n; t++) {
    const dir = path.join(root, `t${t}`);
    fs.writeFileSync(path.join(dir, `ready-${child}`), '');
    for (let spins = 0; ; spins++) {
      let ready = 0;
      for (let c = 0; c < k; c++) if (fs.existsSync(path.join(dir, `ready-${c}`))) ready++;
      if (ready === k) break;
      if (spins > 50) Atomics.wait(nap, 0, 0, 0.2);
    }
    try { acquireRunLock(dir); got.push(1); } catch { got.push(0); }
  }
  fs.writeFileSync(path.join(root, `result-${child}.json`), JSON.stringify(got));
}

void main();
