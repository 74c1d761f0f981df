/**
 * The queue end to end: a real redis-server on a free loopback port, real `fedlora worker`
 * processes and coordinators (node --import tsx, one process each, so SIGKILL reaches it).
 * Metrics of queued runs must equal the local run's (wall-clock fields aside).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, files } from '../runStore';
import { deterministicRows } from '../testFixtures';
import { resourcesDir } from '../resources';
import { CLIENT_QUEUE, QUEUE_PREFIX } from './jobs';
import { listWorkers } from './registry';
import { OPENSSL, REDIS_SERVER, startRedis, testCertificates, type TestRedis } from './testRedis';

const root = path.resolve(__dirname, '../../..');
const nodeArgs = ['--import', 'tsx', path.join(root, 'src/cli/main.ts')];
const env = { ...process.env, FEDLORA_BACKEND: 'wasm' };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-queue-'));

interface Proc { child: ChildProcess; log(): string; exit: Promise<number | null> }

function start(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log: () => out, exit };
}

const worker = (url: string, extraEnv: Record<string, string> = {}) => start(['worker', '--queue', url, '--stall-ms', '4000'], extraEnv);

/** Run the CLI to its end without blocking this process (the workers' output keeps flowing in). */
function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function until(cond: () => boolean, what: string, ms = 240_000, context?: () => string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${context ? `\n${context().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const joined = (w: Proc) => until(() => / joined redis/.test(w.log()), 'a worker to join');
const clientJobsDone = (logs: string[]) => logs.join('\n').split('\n').filter((l) => / done in \d+ ms/.test(l)).length;
async function stopAll(ps: Proc[]): Promise<void> {
  for (const p of ps) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(ps.map((p) => p.exit));
}
const lastLine = (s: string) => s.trim().split('\n').pop()!;

/** A lighter variant of the quick preset for the fault tests (a few seconds per round). */
function smallConfig(): string {
  const dir = tmp();
  const file = path.join(dir, 'small.json');
  const quick = JSON.parse(fs.readFileSync(path.join(root, 'configs/quick.json'), 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...quick, name: 'small', seed: 5, data: { ...quick.data, trainSamples: 2400 }, federation: { ...quick.federation, rounds: 3 } }));
  return file;
}

const why = REDIS_SERVER ? '' : ' (skipped: redis-server is not installed; apt-get install redis-server)';

describe.skipIf(!REDIS_SERVER)(`queue: bad --queue input${why}`, () => {
  it('a malformed URL exits 2 and an unreachable Redis exits 1, naming the address; nothing is written', async () => {
    const out = path.join(tmp(), 'runs');
    const bad = await cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', 'http://127.0.0.1:1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--queue: scheme "http" is not supported; expected redis://');
    const r = await startRedis();
    await r.stop(); // a port nobody listens on any more
    const gone = await cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', `redis://127.0.0.1:${r.port}`]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${r.port}/0`);
    expect(fs.existsSync(out)).toBe(false);
    expect((await cli(['worker'])).stderr).toContain('worker: --queue URL is required');
  });

  it('a password in the URL: wrong one refused with a hint, right one joins the pool (listed), Ctrl-C stops the worker', async () => {
    const r = await startRedis({ password: 'p@ss word' });
    try {
      const wrong = await cli(['resume', '/nonexistent-run', '--queue', `redis://:nope@127.0.0.1:${r.port}`]);
      expect(wrong.code).toBe(2); // the run dir is checked first
      const out = path.join(tmp(), 'runs');
      const w = await cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', `redis://:nope@127.0.0.1:${r.port}`]);
      expect(w.code).toBe(1);
      expect(w.stderr).toMatch(/WRONGPASS|invalid password/);
      expect(w.stderr).toContain('wrong or missing password');
      expect(w.stderr).not.toContain('nope');
      expect(fs.existsSync(out)).toBe(false);
      const wk = worker(r.url);
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
      const untrusted = await cli(['run', '--config', 'configs/quick.json', '--out', out, '--queue', r.url]);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(new RegExp(`cannot reach Redis at rediss://localhost:${r.port}/0: .*(self.signed|certificate)`));
      expect(fs.existsSync(out)).toBe(false);
      const wk = worker(r.url, { NODE_EXTRA_CA_CERTS: tls.ca });
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
  let quickRef: Record<string, unknown>[] = [];
  let smallRef: Record<string, unknown>[] = [];
  let small = '';
  const procs: Proc[] = [];
  const redises: TestRedis[] = [];
  const redis = async () => { const r = await startRedis(); redises.push(r); return r; };
  const w = (url: string, e: Record<string, string> = {}) => { const p = worker(url, e); procs.push(p); return p; };

  beforeAll(async () => {
    small = smallConfig();
    const [a, b] = await Promise.all([
      cli(['run', '--config', 'configs/quick.json', '--rounds', '3', '--seed', '5', '--out', path.join(tmp(), 'runs')]),
      cli(['run', '--config', small, '--out', path.join(tmp(), 'runs')]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    quickRef = deterministicRows(lastLine(a.stdout));
    expect(b.code, b.stderr).toBe(0);
    smallRef = deterministicRows(lastLine(b.stdout));
    expect(quickRef).toHaveLength(3);
  }, 600_000);

  afterAll(async () => {
    await stopAll(procs);
    for (const r of redises) await r.stop();
  });

  it('quick preset, 3 rounds, seed 5, 2 workers: identical metrics; meta.json records the queue (no password) and the workers', async () => {
    const r = await redis();
    const [a, b] = [w(r.url), w(r.url)];
    await Promise.all([joined(a), joined(b)]);
    const run = await cli(['run', '--config', 'configs/quick.json', '--rounds', '3', '--seed', '5', '--out', path.join(tmp(), 'runs'), '--queue', r.url]);
    expect(run.code, run.stderr).toBe(0);
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

  it('a worker SIGKILLed mid-job, another started: its job goes to another worker and the metrics are identical', async () => {
    const r = await redis();
    const [a, b] = [w(r.url), w(r.url)];
    await Promise.all([joined(a), joined(b)]);
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
    const c = w(r.url);
    expect(await coord.exit).toBe(0);
    const dir = lastLine(coord.log());
    expect(deterministicRows(dir)).toEqual(smallRef);
    if (!a.log().includes(`job ${victim} done`)) expect(b.log() + c.log()).toContain(`job ${victim} started`);
  }, 600_000);

  it('the coordinator SIGKILLed mid-run, then `resume --queue`: identical metrics, and no job is computed twice', async () => {
    const r = await redis();
    const [a, b] = [w(r.url), w(r.url)];
    await Promise.all([joined(a), joined(b)]);
    const out = path.join(tmp(), 'runs');
    const coord = start(['run', '--config', small, '--out', out, '--queue', r.url]);
    await until(() => /job \S+\.r2\.\S+ started/.test(a.log() + b.log()), 'a job of round 2 to start', 240_000, () => `${coord.log()}\n${a.log()}`);
    coord.child.kill('SIGKILL');
    await coord.exit;
    const [runId] = fs.readdirSync(out).filter((d) => !d.startsWith('.'));
    const res = await cli(['resume', path.join(out, runId), '--queue', r.url]);
    expect(res.code, res.stderr).toBe(0);
    expect(deterministicRows(path.join(out, runId))).toEqual(smallRef);
    // 3 rounds x 5 clients: the jobs the dead coordinator queued were not queued again
    await until(() => clientJobsDone([a.log(), b.log()]) >= 15, 'the workers\' last log lines', 10_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    expect(clientJobsDone([a.log(), b.log()])).toBe(15);
  }, 600_000);

  it('Redis restarted mid-run (its jobs lost): coordinator and workers reconnect, lost jobs are queued again, identical metrics', async () => {
    const r = await redis();
    const [a, b] = [w(r.url), w(r.url)];
    await Promise.all([joined(a), joined(b)]);
    const coord = start(['run', '--config', small, '--out', path.join(tmp(), 'runs'), '--queue', r.url]);
    procs.push(coord);
    await until(() => /job \S+\.r2\.\S+ started/.test(a.log() + b.log()), 'a job of round 2 to start', 240_000, () => coord.log());
    await r.stop();
    await new Promise((res) => setTimeout(res, 1000));
    redises.push(await startRedis({ port: r.port }));
    expect(await coord.exit, coord.log()).toBe(0);
    expect(deterministicRows(lastLine(coord.log()))).toEqual(smallRef);
    expect(coord.log()).toMatch(/is gone from Redis \(restarted\?\): queuing it again/);
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

  it('a 4-run sweep through the queue with 2 workers: 4 run directories here, each equal to its local run, and the comparison report', async () => {
    const r = await redis();
    const dir = tmp();
    const file = path.join(dir, 'grid.json');
    fs.writeFileSync(file, JSON.stringify({
      name: 'qsweep',
      base: { backend: 'wasm', data: { dataset: path.join(resourcesDir(), 'data/fashion-mnist'), trainSamples: 400, testSamples: 100 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 2 } },
      grid: { 'compression.method': ['none', 'soft'], seed: [0, 1] },
    }));
    const [a, b] = [w(r.url), w(r.url)];
    const local = cli(['sweep', '--config', file, '--out', path.join(dir, 'local'), '--parallel', '1']);
    await Promise.all([joined(a), joined(b)]);
    const queued = await cli(['sweep', '--config', file, '--out', path.join(dir, 'queued'), '--queue', r.url]);
    expect(queued.code, queued.stderr).toBe(0);
    expect((await local).code).toBe(0);
    const runs = fs.readdirSync(path.join(dir, 'queued')).filter((d) => /^r\d{3}-/.test(d)).sort();
    expect(runs).toHaveLength(4);
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
    expect(queued.stderr).toMatch(/comparison report of 4 runs: .*report\.html/);
    expect(fs.existsSync(path.join(dir, 'queued', 'report', 'report.html'))).toBe(true);
  }, 600_000);
});
