/**
 * The queue under faults, end to end (real redis-server, worker and coordinator processes): a
 * worker SIGKILLed mid-job, the coordinator SIGKILLed then resumed, Redis restarted mid-run. Each
 * run's metrics must equal the local run's (a lighter variant of the quick preset, 3 rounds).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicRows } from '../testFixtures';
import { REDIS_SERVER, startRedis, type TestRedis } from './testRedis';
import { cli, clientJobsDone, joined, lastLine, smallConfig, start, stopAll, tmp, until, why, worker, type Proc } from './testProcs';

describe.skipIf(!REDIS_SERVER)(`queue faults: the run finishes with the local run's metrics${why}`, () => {
  let small = '';
  let local: ReturnType<typeof cli>;
  /** The local reference run: started in beforeAll, it goes alongside the first test's queued run. */
  const smallRef = async () => {
    const b = await local;
    expect(b.code, b.stderr).toBe(0);
    const rows = deterministicRows(lastLine(b.stdout));
    expect(rows).toHaveLength(3);
    return rows;
  };
  const procs: Proc[] = [];
  const redises: TestRedis[] = [];
  const redis = async () => { const r = await startRedis(); redises.push(r); return r; };
  const w = (url: string) => { const p = worker(url); procs.push(p); return p; };

  /** Redis and two workers shared by the worker-kill and Redis-restart tests (their training
   *  threads load the run's model and data once); each test adds what it breaks. */
  let shared: { redis: TestRedis; workers: Proc[] };
  beforeAll(async () => {
    small = smallConfig();
    local = cli(['run', '--config', small, '--out', path.join(tmp(), 'runs')]);
    const r = await redis();
    shared = { redis: r, workers: [w(r.url), w(r.url)] };
    await Promise.all(shared.workers.map(joined));
  });

  afterAll(async () => {
    await local; // not left running when a test failed before it
    await stopAll(procs);
    for (const r of redises) await r.stop();
  });

  it('a worker SIGKILLed mid-job: its job goes to another worker and the metrics are identical', async () => {
    const r = shared.redis;
    const a = w(r.url);
    await joined(a);
    const coord = start(['run', '--config', small, '--out', path.join(tmp(), 'runs'), '--queue', r.url]);
    procs.push(coord);
    // a job of round 2 or 3 that `a` started and has not finished
    let victim = '';
    await until(() => {
      const started = [...a.log().matchAll(/job (\S+\.r[23]\.\S+) started/g)].map((m) => m[1]);
      victim = started.find((id) => !a.log().includes(`job ${id} done`)) ?? '';
      return victim !== '';
    }, 'worker a to start a job of round 2 or 3', 240_000, () => `${coord.log()}\n${a.log()}`);
    a.child.kill('SIGKILL');
    expect(await coord.exit).toBe(0);
    const dir = lastLine(coord.log());
    expect(deterministicRows(dir)).toEqual(await smallRef());
    if (!a.log().includes(`job ${victim} done`)) expect(shared.workers.map((x) => x.log()).join('\n')).toContain(`job ${victim} started`);
  }, 600_000);

  it('the coordinator SIGKILLed mid-run, then `resume --queue`: identical metrics, and no job is computed twice', async () => {
    const r = await redis();
    // no worker dies here: a long lock, so that a loaded machine's slow lock renewal never lets a
    // live worker's job count as stalled and run twice (which this test would count)
    const slow = (url: string) => { const p = start(['worker', '--queue', url, '--stall-ms', '60000']); procs.push(p); return p; };
    const [a, b] = [slow(r.url), slow(r.url)];
    await Promise.all([joined(a), joined(b)]);
    const out = path.join(tmp(), 'runs');
    const coord = start(['run', '--config', small, '--out', out, '--queue', r.url]);
    await until(() => /job \S+\.r2\.\S+ started/.test(a.log() + b.log()), 'a job of round 2 to start', 240_000, () => `${coord.log()}\n${a.log()}`);
    coord.child.kill('SIGKILL');
    await coord.exit;
    const [runId] = fs.readdirSync(out).filter((d) => !d.startsWith('.'));
    const res = await cli(['resume', path.join(out, runId), '--queue', r.url]);
    expect(res.code, res.stderr).toBe(0);
    expect(deterministicRows(path.join(out, runId))).toEqual(await smallRef());
    // 3 rounds x 5 clients: the jobs the dead coordinator queued were not queued again
    await until(() => clientJobsDone([a.log(), b.log()]) >= 15, 'the workers\' last log lines', 10_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    expect(clientJobsDone([a.log(), b.log()])).toBe(15);
  }, 600_000);

  it('Redis restarted mid-run (its jobs lost): coordinator and workers reconnect, lost jobs are queued again, identical metrics', async () => {
    const r = shared.redis;
    const [a, b] = shared.workers;
    const [fromA, fromB] = [a.log().length, b.log().length]; // their logs of the earlier test aside
    const coord = start(['run', '--config', small, '--out', path.join(tmp(), 'runs'), '--queue', r.url]);
    procs.push(coord);
    await until(() => /job \S+\.r2\.\S+ started/.test(a.log().slice(fromA) + b.log().slice(fromB)), 'a job of round 2 to start', 240_000, () => coord.log());
    await r.stop();
    await new Promise((res) => setTimeout(res, 1000));
    redises.push(await startRedis({ port: r.port }));
    expect(await coord.exit, coord.log()).toBe(0);
    expect(deterministicRows(lastLine(coord.log()))).toEqual(await smallRef());
    expect(coord.log()).toMatch(/is gone from Redis \(restarted\?\): queuing it again/);
  }, 600_000);
});
