/**
 * The queue end to end: a real redis-server on a free loopback port, real `fedlora worker`
 * processes and coordinators (node --require tsx/cjs, one process each, so SIGKILL reaches it).
 * Metrics of queued runs must equal the local run's (wall-clock fields aside).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readJson, files } from '../runs/runStore';
import { deterministicRows } from '../testFixtures';
import { resourcesDir } from '../data/resources';
import { CLIENT_QUEUE, QUEUE_PREFIX } from './jobs';
import { listWorkers } from './registry';
import { OPENSSL, REDIS_SERVER, startRedis, testCertificates, type TestRedis } from './testRedis';
import { cli, joined, lastLine, smallConfig, stopAll, tmp, until, why, worker, type Proc } from './testProcs';

describe.skipIf(!REDIS_SERVER)(`queue: bad --queue input${why}`, () => {
  it('a malformed URL exits 2 and an unreachable Redis exits 1, naming the address; nothing is written', async () => {
    const out = path.join(tmp(), 'runs');
    // the three processes at once (each is mostly start-up)
    const badRun = cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', 'http://127.0.0.1:1']);
    const noUrl = cli(['worker']);
    const r = await startRedis();
    await r.stop(); // a port nobody listens on any more
    const gone = await cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', `redis://127.0.0.1:${r.port}`]);
    const bad = await badRun;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--queue: scheme "http" is not supported; expected redis://');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${r.port}/0`);
    expect(fs.existsSync(out)).toBe(false);
    expect((await noUrl).stderr).toContain('worker: --queue URL is required');
  });

  it('a password in the URL: wrong one refused with a hint, right one joins the pool (listed), Ctrl-C stops the worker', async () => {
    const r = await startRedis({ password: 'p@ss word' });
    try {
      // the refused commands and the worker that joins, at once
      const wrongResume = cli(['resume', '/nonexistent-run', '--queue', `redis://:nope@127.0.0.1:${r.port}`]);
      const out = path.join(tmp(), 'runs');
      const wrongRun = cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', `redis://:nope@127.0.0.1:${r.port}`]);
      const wk = worker(r.url);
      expect((await wrongResume).code).toBe(2); // the run dir is checked first
      const w = await wrongRun;
      expect(w.code).toBe(1);
      expect(w.stderr).toMatch(/WRONGPASS|invalid password/);
      expect(w.stderr).toContain('wrong or missing password');
      expect(w.stderr).not.toContain('nope');
      expect(fs.existsSync(out)).toBe(false);
      await joined(wk);
      const redis = new Redis({ port: r.port, host: '127.0.0.1', password: 'p@ss word' });
      const listed = await listWorkers(redis);
      redis.disconnect();
      expect(listed).toEqual([expect.objectContaining({ pid: wk.child.pid, backend: 'wasm', busy: 0, jobsDone: 0, concurrency: 1 })]);
      wk.child.kill('SIGINT');
      expect(await wk.exit).toBe(0);
      expect(wk.log()).toMatch(/stopped after 0 job\(s\)/);
    } finally { await r.stop(); }
  });
});

describe.skipIf(!REDIS_SERVER || !OPENSSL)(`queue: rediss:// (TLS) with a password${REDIS_SERVER && !OPENSSL ? ' (skipped: openssl is not installed to make a test certificate)' : why}`, () => {
  it('an unknown CA is refused with the TLS reason; with the CA trusted (NODE_EXTRA_CA_CERTS) a worker joins over TLS and is listed', async () => {
    const dir = tmp();
    const tls = testCertificates(dir)!;
    const r = await startRedis({ tls, password: 'tls-pw' });
    try {
      expect(r.url).toMatch(/^rediss:\/\/:tls-pw@localhost:\d+$/);
      const out = path.join(dir, 'runs');
      const refused = cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', r.url]);
      const wk = worker(r.url, { NODE_EXTRA_CA_CERTS: tls.ca }); // alongside the refused run
      const untrusted = await refused;
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(new RegExp(`cannot reach Redis at rediss://localhost:${r.port}/0: .*(self.signed|certificate)`));
      expect(fs.existsSync(out)).toBe(false);
      await joined(wk);
      expect(wk.log()).toContain(`joined rediss://localhost:${r.port}/0`);
      const redis = new Redis({ host: 'localhost', port: r.port, password: 'tls-pw', tls: { ca: fs.readFileSync(tls.ca) } });
      const listed = await listWorkers(redis);
      redis.disconnect();
      expect(listed).toEqual([expect.objectContaining({ pid: wk.child.pid })]);
      wk.child.kill('SIGINT');
      expect(await wk.exit).toBe(0);
    } finally { await r.stop(); }
  });
});

describe.skipIf(!REDIS_SERVER)(`queue: runs through Redis equal local runs${why}`, () => {
  const procs: Proc[] = [];
  const redises: TestRedis[] = [];
  const redis = async () => { const r = await startRedis(); redises.push(r); return r; };
  const w = (url: string, e: Record<string, string> = {}) => { const p = worker(url, e); procs.push(p); return p; };

  afterAll(async () => {
    await stopAll(procs);
    for (const r of redises) await r.stop();
  });

  it('the quick preset on fewer images, 3 rounds, seed 5, 2 workers: identical metrics; meta.json records the queue (no password) and the workers', async () => {
    // the local reference run goes alongside the queued one (its own process, no queue)
    const small = smallConfig();
    const local = cli(['run', '--config', small, '--out', path.join(tmp(), 'runs')]);
    const r = await redis();
    const [a, b] = [w(r.url), w(r.url)];
    await Promise.all([joined(a), joined(b)]);
    const run = await cli(['run', '--config', small, '--out', path.join(tmp(), 'runs'), '--queue', r.url]);
    expect(run.code, run.stderr).toBe(0);
    const ref = await local;
    expect(ref.code, ref.stderr).toBe(0);
    const quickRef = deterministicRows(lastLine(ref.stdout));
    expect(quickRef).toHaveLength(3);
    const dir = lastLine(run.stdout);
    expect(deterministicRows(dir)).toEqual(quickRef);
    const meta = readJson<{ queue: { url: string; workers: { pid: number; jobs: number }[]; jobs: number; bytesOut: number } }>(files(dir).meta);
    expect(meta.queue.url).toBe(`redis://127.0.0.1:${r.port}/0`);
    expect(meta.queue.jobs).toBe(15);
    expect(meta.queue.workers.reduce((s, x) => s + x.jobs, 0)).toBe(15);
    expect(meta.queue.workers.every((x) => [a.child.pid, b.child.pid].includes(x.pid))).toBe(true);
    expect(meta.queue.bytesOut).toBeGreaterThan(0);
    // Ctrl-C: each worker finishes and leaves
    for (const p of [a, b]) p.child.kill('SIGINT');
    expect(await a.exit).toBe(0);
    expect(await b.exit).toBe(0);
  }, 600_000);

  it('a worker whose dataset copy differs refuses the job naming the file; a payload failing the schema is rejected without running', async () => {
    const r = await redis();
    const res = path.join(tmp(), 'resources');
    fs.cpSync(path.join(resourcesDir(), 'data/fashion-mnist'), path.join(res, 'data/fashion-mnist'), { recursive: true });
    fs.cpSync(path.join(resourcesDir(), 'models'), path.join(res, 'models'), { recursive: true });
    const changed = path.join(res, 'data/fashion-mnist/t10k-labels-idx1-ubyte.gz');
    const bytes = fs.readFileSync(changed); bytes[bytes.length - 1] ^= 1; fs.writeFileSync(changed, bytes);
    const bad = w(r.url, { FEDLORA_RESOURCES: res });
    await joined(bad);
    // schema first: jobs put on the queue by hand
    const connection = { host: '127.0.0.1', port: r.port, maxRetriesPerRequest: null };
    const q = new Queue(CLIENT_QUEUE, { connection, prefix: QUEUE_PREFIX });
    const ev = new QueueEvents(CLIENT_QUEUE, { connection, prefix: QUEUE_PREFIX });
    await ev.waitUntilReady();
    const fails = async (name: string, data: unknown, id: string) => {
      const job = await q.add(name, data, { jobId: id, attempts: 3 });
      return job.waitUntilFinished(ev).then(() => 'completed', (e: Error) => e.message);
    };
    expect(await fails('client', { v: 1, runId: 'r1', round: 'one', client: 0 }, 'bad-1')).toMatch(/^rejected: job payload fails the schema: .*round/);
    expect(await fails('exec', { cmd: 'rm -rf /' }, 'bad-2')).toBe('rejected: unknown job kind "exec" (this worker runs client, run)');
    expect((await q.getJob('bad-1'))!.attemptsMade).toBe(1); // not retried
    await Promise.all([q.close(), ev.close()]);
    expect(bad.log()).not.toContain('loading model and data');
    // a real run: refused, naming the file
    const run = await cli(['run', '--config', 'configs/quick.json', '--rounds', '1', '--out', path.join(tmp(), 'runs'), '--queue', r.url]);
    expect(run.code).toBe(1);
    const msg = `refused: data.dataset: ${changed} differs from the coordinator's copy`;
    expect(run.stderr).toContain(msg);
    await until(() => bad.log().includes(msg), 'the refusal in the worker log', 10_000);
    expect(bad.log()).not.toContain('loading model and data');
  }, 600_000);

  it('a 2-run sweep through the queue with 2 workers: 2 run directories here, each equal to its local run, and the comparison report', async () => {
    const r = await redis();
    const dir = tmp();
    const file = path.join(dir, 'grid.json');
    fs.writeFileSync(file, JSON.stringify({
      name: 'qsweep',
      base: { backend: 'wasm', data: { dataset: path.join(resourcesDir(), 'data/fashion-mnist'), trainSamples: 400, testSamples: 100 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 2 } },
      grid: { 'compression.method': ['none', 'soft'] },
    }));
    const [a, b] = [w(r.url), w(r.url)];
    const local = cli(['sweep', '--config', file, '--out', path.join(dir, 'local'), '--parallel', '1']);
    await Promise.all([joined(a), joined(b)]);
    const queued = await cli(['sweep', '--config', file, '--out', path.join(dir, 'queued'), '--queue', r.url]);
    expect(queued.code, queued.stderr).toBe(0);
    expect((await local).code).toBe(0);
    const runs = fs.readdirSync(path.join(dir, 'queued')).filter((d) => /^r\d{3}-/.test(d)).sort();
    expect(runs).toHaveLength(2);
    const workerPids = new Set<number>();
    for (const d of runs) {
      const q = path.join(dir, 'queued', d);
      expect(readJson<{ status: string }>(files(q).summary).status).toBe('completed');
      expect(deterministicRows(q)).toEqual(deterministicRows(path.join(dir, 'local', d)));
      const meta = readJson<{ queue: { url: string; workers: { pid: number }[] }; backend: { name: string } }>(files(q).meta);
      expect(meta.queue.url).toBe(`redis://127.0.0.1:${r.port}/0`);
      expect(meta.backend.name).toBe('wasm');
      for (const x of meta.queue.workers) workerPids.add(x.pid);
    }
    expect([...workerPids].every((p) => [a.child.pid, b.child.pid].includes(p))).toBe(true);
    expect(queued.stderr).toMatch(/comparison report of 2 runs: .*report\.html/);
    expect(fs.existsSync(path.join(dir, 'queued', 'report', 'report.html'))).toBe(true);
  }, 600_000);
});
