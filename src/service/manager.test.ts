import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, type RunEvent, type RunStatus } from '../contract/api';
import { RunManager } from './manager';
import { executeRun } from './runner';
import { createRunDir, deterministicPart, files, readJson, readMetrics, type RunSummary } from './runs/runStore';
import { validateRunConfig } from './validate';
import { tinyConfig } from './testFixtures';

const strip = (rows: Record<string, unknown>[]) => rows.map(deterministicPart);

const managers: RunManager[] = [];
function newManager(opts: { maxConcurrent?: number; runsDir?: string; clientWorkers?: number; workerEntry?: string } = {}): { m: RunManager; events: RunEvent[] } {
  const m = new RunManager({ runsDir: opts.runsDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-mgr-')), maxConcurrent: opts.maxConcurrent, clientWorkers: opts.clientWorkers, workerEntry: opts.workerEntry });
  managers.push(m);
  const events: RunEvent[] = [];
  m.subscribe((e) => events.push(e));
  return { m, events };
}
afterEach(async () => {
  for (const m of managers.splice(0)) await m.shutdown(5_000);
});

function statuses(events: RunEvent[], id: string): RunStatus[] {
  return events.filter((e): e is Extract<RunEvent, { type: 'status' }> => e.type === 'status' && e.runId === id).map((e) => e.status);
}

function apiError(fn: () => unknown): ApiError {
  try { fn(); } catch (e) { if (e instanceof ApiError) return e; throw e; }
  throw new Error('expected an ApiError');
}

describe('RunManager', () => {
  it('creates and trains a run in a worker to completed, with round and status events', async () => {
    const { m, events } = newManager();
    const item = m.create(tinyConfig(), { start: 'now', tags: ['a', 'b'] });
    expect(item.status).toBe('running');
    expect(item).toMatchObject({ method: 'none', rank: 8, rounds: 2, tags: ['a', 'b'], latencyBudgetS: null });
    await m.whenIdle();
    const rounds = events.filter((e) => e.type === 'round' && e.runId === item.id);
    expect(rounds.map((e) => (e as Extract<RunEvent, { type: 'round' }>).metrics.round)).toEqual([1, 2]);
    expect(statuses(events, item.id)).toEqual(['created', 'queued', 'running', 'completed']);
    const d = m.get(item.id);
    expect(d.item).toMatchObject({ status: 'completed', roundsDone: 2 });
    expect(d.item.finalAcc).toBe(d.metrics[1].testAcc);
    expect(d.log.some((l) => l.startsWith('backend wasm'))).toBe(true);
    expect(m.metrics(item.id, 1).map((r) => r.round)).toEqual([2]);
    expect(fs.existsSync(path.join(m.runsDir, item.id, 'run.lock'))).toBe(false);
    expect(m.list().map((r) => r.id)).toEqual([item.id]);
  });

  it('knows the backend an "auto" run chose while it trains (Help and Environment are live), not only after it ends', async () => {
    const { m } = newManager();
    let whileRunning: string | null | undefined;
    m.subscribe((e) => { if (e.type === 'status' && e.status === 'running' && m.lastAutoBackend && whileRunning === undefined) whileRunning = m.lastAutoBackend; });
    const item = m.create(tinyConfig({ backend: 'auto', federation: { numClients: 4, clientsPerRound: 2, rounds: 1 } }), { start: 'now' });
    await m.whenIdle();
    expect(m.status(item.id)).toBe('completed');
    expect(whileRunning).toBe(m.lastAutoBackend);
    expect(whileRunning).toMatch(/^(wasm|cpu|tensorflow|tensorflow-gpu|webgpu)$/);
  });

  it('trains a run\'s clients on client worker threads when asked, with the metrics of one thread', async () => {
    expect(() => new RunManager({ runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-mgr-')), clientWorkers: 0 })).toThrow(/clientWorkers: must be an integer from 1 to 64/);
    const cfg = tinyConfig({ federation: { numClients: 4, clientsPerRound: 3, rounds: 2 } });
    const one = newManager(), two = newManager({ clientWorkers: 2 });
    const a = one.m.create(cfg, { start: 'now' }), b = two.m.create(cfg, { start: 'now' });
    await Promise.all([one.m.whenIdle(), two.m.whenIdle()]);
    expect(two.m.item(b.id).status).toBe('completed');
    expect(readJson<{ execution?: { clientWorkers: number } }>(files(path.join(two.m.runsDir, b.id)).meta).execution?.clientWorkers).toBe(2);
    expect(strip(two.m.get(b.id).metrics)).toEqual(strip(one.m.get(a.id).metrics));
  });

  it('queues beyond maxConcurrent 1 and runs the queue in order', async () => {
    const { m, events } = newManager({ maxConcurrent: 1 });
    let running = 0, maxRunning = 0;
    m.subscribe((e) => {
      if (e.type !== 'status') return;
      if (e.status === 'running') maxRunning = Math.max(maxRunning, ++running);
      if (e.status === 'completed' || e.status === 'failed') running--;
    });
    const a = m.create(tinyConfig(), { start: 'now' });
    const b = m.create(tinyConfig({ seed: 8 }), { start: 'now' });
    expect(a.status).toBe('running');
    expect(b.status).toBe('queued');
    expect(readJson<RunSummary>(files(path.join(m.runsDir, b.id)).summary).status).toBe('queued');
    await m.whenIdle();
    expect(maxRunning).toBe(1);
    expect(statuses(events, b.id)).toEqual(['created', 'queued', 'running', 'completed']);
    expect(m.item(a.id).status).toBe('completed');
  });

  it('stops after the current round, resumes to metrics equal to an uninterrupted run; a second stop terminates', async () => {
    const cfg = tinyConfig({ federation: { numClients: 4, clientsPerRound: 2, rounds: 3 } });
    const v = validateRunConfig(cfg, process.cwd());
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    const fullDir = createRunDir(fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-full-')), v.config, {}, 2);
    await executeRun(fullDir);
    const full = strip(readMetrics<Record<string, unknown>>(fullDir).rows);

    const { m } = newManager();
    const r = m.create(cfg, { start: 'now' });
    expect(m.stop(r.id).status).toBe('running'); // graceful: the flag is seen after round 1
    await m.whenIdle();
    expect(m.item(r.id)).toMatchObject({ status: 'stopped', roundsDone: 1 });
    expect(apiError(() => m.start('no-such-run')).code).toBe('not-found');

    // resume, then stop twice: the worker is terminated and the run stays resumable
    m.resume(r.id);
    m.stop(r.id);
    m.stop(r.id);
    await m.whenIdle();
    expect(m.item(r.id).status).toBe('stopped');
    expect(fs.existsSync(path.join(m.runsDir, r.id, 'run.lock'))).toBe(false);
    expect(m.resume(r.id).status).toBe('running');
    await m.whenIdle();
    expect(m.item(r.id)).toMatchObject({ status: 'completed', roundsDone: 3 });
    expect(strip(m.get(r.id).metrics as unknown as Record<string, unknown>[])).toEqual(full);
    expect(apiError(() => m.resume(r.id)).code).toBe('conflict');
  });

  it('marks runs interrupted that a summary calls running or queued but no live process holds', () => {
    const { m } = newManager();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const ids = ['a', 'b', 'c', 'd'].map((n) => m.create(tinyConfig({ name: n })).id);
    const [stale, queued, live, done] = ids.map((id) => path.join(m.runsDir, id));
    fs.writeFileSync(files(stale).summary, JSON.stringify({ status: 'running', rounds: 1 }));
    fs.writeFileSync(path.join(stale, 'run.lock'), JSON.stringify({ pid: dead, host: os.hostname() }));
    fs.writeFileSync(files(queued).summary, JSON.stringify({ status: 'queued', rounds: 0 }));
    fs.writeFileSync(files(live).summary, JSON.stringify({ status: 'running', rounds: 1 }));
    fs.writeFileSync(path.join(live, 'run.lock'), JSON.stringify({ pid: 1, host: os.hostname() })); // alive, not ours
    fs.writeFileSync(files(done).summary, JSON.stringify({ status: 'completed', rounds: 2 }));
    const { m: m2 } = newManager({ runsDir: m.runsDir });
    const byId = new Map(m2.list().map((r) => [r.id, r.status]));
    expect(ids.map((id) => byId.get(id))).toEqual(['interrupted', 'interrupted', 'running', 'completed']);
    expect(apiError(() => m2.resume(ids[2])).code).toBe('conflict');
    expect(apiError(() => m2.delete(ids[2])).code).toBe('conflict');
  });

  it('deletes, duplicates, lists presets, rejects bad ids and invalid configs', () => {
    const { m, events } = newManager();
    const a = m.create(tinyConfig(), { tags: ['x'] });
    const b = m.duplicate(a.id);
    expect(b.id).not.toBe(a.id);
    expect(b).toMatchObject({ status: 'created', tags: ['x'], name: 'tiny' });
    expect(m.delete(a.id)).toEqual({ id: a.id });
    expect(events.at(-1)).toEqual({ type: 'deleted', runId: a.id });
    expect(fs.existsSync(path.join(m.runsDir, a.id))).toBe(false);
    expect(m.list().map((r) => r.id)).toEqual([b.id]);
    expect(apiError(() => m.get(a.id)).code).toBe('not-found');
    expect(apiError(() => m.resume(b.id)).code).toBe('conflict');

    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-outside-'));
    fs.writeFileSync(path.join(outside, 'config.json'), '{}');
    for (const bad of ['../' + path.basename(outside), '..', '.', '', 'a/b', 'a\\b', '/etc', '%2e%2e', 'x'.repeat(200), 42, null]) {
      expect(apiError(() => m.get(bad as string)).code, String(bad)).toBe('invalid-request');
      expect(apiError(() => m.delete(bad as string)).code, String(bad)).toBe('invalid-request');
    }
    expect(fs.existsSync(outside)).toBe(true);

    const e = apiError(() => m.create(tinyConfig({ lora: { rank: 0 } })));
    expect(e.code).toBe('invalid-config');
    expect(e.issues?.map((i) => i.path)).toEqual(['lora.rank']);
    expect(apiError(() => m.create(tinyConfig(), { tags: 'x' })).code).toBe('invalid-request');
    expect(m.list()).toHaveLength(1);

    const presets = m.presets();
    expect(presets.map((p) => p.id)).toContain('quick');
    expect(presets.find((p) => p.id === 'quick')!.description).toMatch(/20 clients/);
  });

  it('sweeps: a grid becomes tagged runs (validated before any is created), listed with their statuses', () => {
    const { m } = newManager();
    const spec = {
      name: 'grid1', base: tinyConfig(), grid: { seed: [1, 2] },
      variants: [{ label: 'dense', set: { 'compression.method': 'none' } }, { label: 'soft', set: { 'compression.method': 'soft' } }],
    };
    const info = m.createSweep(spec, { start: 'no' });
    expect(info).toMatchObject({ name: 'grid1', tag: 'sweep:grid1', total: 4, counts: { created: 4 } });
    expect(info.runIds).toHaveLength(4);
    for (const id of info.runIds) expect(m.list().find((r) => r.id === id)!.tags).toContain('sweep:grid1');
    expect(m.sweeps().map((x) => x.name)).toEqual(['grid1']);
    expect(apiError(() => m.createSweep(spec)).code).toBe('conflict');
    const bad = apiError(() => m.createSweep({ ...spec, name: 'grid2', grid: { 'lora.rank': [4, 0] } }));
    expect(bad.code).toBe('invalid-config');
    expect(bad.issues?.[0].path).toMatch(/^run r\d{3}-.*: lora\.rank$/);
    expect(m.list()).toHaveLength(4); // nothing of the invalid sweep was created
    expect(apiError(() => m.createSweep({ ...spec, name: '../x' })).code).toBe('invalid-request');
    expect(apiError(() => m.createSweep({ ...spec, name: 'grid3', base: 'no-such-preset' })).message).toMatch(/not a preset/);
    expect(m.createSweep({ name: 'fromPreset', base: 'quick', grid: { seed: [5] } }, { start: 'no' }).total).toBe(1);
  });
});

/** A worker that trains nothing: it holds its run as "running" until asked to stop (keeps ownership tests fast). */
function stallWorker(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-stall-')), 'stall.js');
  fs.writeFileSync(file, `const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs'); // written as the runner writes it: whole, by rename (a poll never reads it half-written)
fs.writeFileSync(workerData.dir + '/.summary.stall.tmp', JSON.stringify({ status: 'running', rounds: 0 }));
fs.renameSync(workerData.dir + '/.summary.stall.tmp', workerData.dir + '/summary.json');
setInterval(() => { if (Atomics.load(workerData.stopFlag, 0)) parentPort.postMessage({ type: 'done', summary: { status: 'stopped', rounds: 0, finalAcc: null, bestAcc: null, totalUplinkBits: 0, meanRoundTime: 0, backend: null } }); }, 20);`);
  return file;
}

const summaryOf = (dir: string) => readJson<RunSummary>(files(dir).summary).status;
async function until(ok: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 60_000; !ok() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
}

describe('RunManager: one owner per run', () => {
  it('a run queued by one manager is neither marked interrupted nor started, resumed, stopped or deleted by a second manager on the folder', async () => {
    const one = newManager({ workerEntry: stallWorker() });
    const running = one.m.create(tinyConfig({ name: 'a' }), { start: 'now' });
    const queued = one.m.create(tinyConfig({ name: 'b' }), { start: 'now' });
    expect([running.status, queued.status]).toEqual(['running', 'queued']);
    await until(() => summaryOf(path.join(one.m.runsDir, running.id)) === 'running');
    const two = newManager({ runsDir: one.m.runsDir });
    const byId = new Map(two.m.list().map((r) => [r.id, r.status]));
    expect([byId.get(running.id), byId.get(queued.id)]).toEqual(['running', 'queued']);
    for (const op of [() => two.m.start(queued.id), () => two.m.resume(queued.id), () => two.m.stop(queued.id), () => two.m.delete(queued.id), () => two.m.stop(running.id)]) {
      expect(apiError(op).code).toBe('conflict');
    }
    expect(apiError(() => two.m.stop(queued.id)).message).toMatch(/belongs to process \d+/);
    expect(summaryOf(path.join(one.m.runsDir, queued.id))).toBe('queued');
    // its owner stops it, which frees it for the other
    expect(one.m.stop(queued.id).status).toBe('stopped');
    expect(fs.existsSync(path.join(one.m.runsDir, queued.id, 'run.lock'))).toBe(false);
    expect(two.m.delete(queued.id)).toEqual({ id: queued.id });
  });

  it('never writes a status into a run that another live process holds', () => {
    const { m } = newManager({ workerEntry: stallWorker() });
    m.create(tinyConfig({ name: 'a' }), { start: 'now' });
    const q = m.create(tinyConfig({ name: 'b' }), { start: 'now' });
    const dir = path.join(m.runsDir, q.id);
    // another process took the run meanwhile (its lock replaced ours)
    fs.writeFileSync(path.join(dir, 'run.lock'), JSON.stringify({ pid: process.ppid, host: os.hostname(), token: 'theirs' }));
    m.stop(q.id);
    expect(summaryOf(dir)).toBe('queued');
    expect(m.get(q.id).log.some((l) => /status stopped not written: the run belongs to process/.test(l))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.lock'), 'utf8')).token).toBe('theirs');
  });

  it('across processes: a live server\'s queued runs stay its own; once it is killed they are interrupted and its temp files removed', async () => {
    const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-mgr-'));
    const ready = path.join(runsDir, '..', `ready-${path.basename(runsDir)}.json`);
    const code = `const fs = require('node:fs'); const { RunManager } = require(${JSON.stringify(path.join(__dirname, 'manager.ts'))});
const m = new RunManager({ runsDir: ${JSON.stringify(runsDir)}, workerEntry: ${JSON.stringify(stallWorker())} });
const ids = [m.create(${JSON.stringify(tinyConfig({ name: 'a' }))}, { start: 'now' }).id, m.create(${JSON.stringify(tinyConfig({ name: 'b' }))}, { start: 'now' }).id];
fs.writeFileSync(${JSON.stringify(ready)}, JSON.stringify(ids)); setInterval(() => {}, 1000);`;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', code], { cwd: path.resolve(__dirname, '../..'), stdio: 'inherit' });
    try {
      await until(() => fs.existsSync(ready));
      const [a, b] = JSON.parse(fs.readFileSync(ready, 'utf8')) as string[];
      await until(() => summaryOf(path.join(runsDir, a)) === 'running');
      const mine = newManager({ runsDir });
      expect([mine.m.status(a), mine.m.status(b)]).toEqual(['running', 'queued']);
      expect(apiError(() => mine.m.resume(b)).code).toBe('conflict');
      expect(apiError(() => mine.m.start(b)).code).toBe('conflict');
      const tmpFile = path.join(runsDir, b, `.summary.json.${child.pid}.${Date.now()}.tmp`);
      fs.writeFileSync(tmpFile, '{');
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const after = newManager({ runsDir });
      expect([after.m.status(a), after.m.status(b)]).toEqual(['interrupted', 'interrupted']);
      expect(fs.existsSync(tmpFile)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('RunManager: hostile run folders', () => {
  it('refuses a run id whose folder is a symbolic link (not listed, not read, not started, nothing written through it)', () => {
    const { m } = newManager();
    const other = newManager();
    const target = other.m.create(tinyConfig());
    const targetDir = path.join(other.m.runsDir, target.id);
    fs.symlinkSync(targetDir, path.join(m.runsDir, 'linked-run'));
    expect(m.list()).toEqual([]);
    for (const op of [() => m.get('linked-run'), () => m.start('linked-run'), () => m.resume('linked-run'), () => m.stop('linked-run'), () => m.delete('linked-run'), () => m.duplicate('linked-run'), () => m.metrics('linked-run')]) {
      const e = apiError(op);
      expect(e.code).toBe('invalid-request');
      expect(e.message).toMatch(/symbolic link/);
    }
    expect(fs.readdirSync(targetDir).sort()).toEqual(['config.json', 'meta.json']);
  });

  it('a corrupt config.json or meta.json answers invalid-config naming the file and the problem, not its content', () => {
    const { m } = newManager();
    const r = m.create(tinyConfig());
    const dir = path.join(m.runsDir, r.id);
    fs.writeFileSync(files(dir).config, '{"name": "SECRET-VALUE", oops');
    for (const op of [() => m.get(r.id), () => m.start(r.id), () => m.duplicate(r.id)]) {
      const e = apiError(op);
      expect(e.code).toBe('invalid-config');
      expect(e.message).toMatch(new RegExp(`run ${r.id}: config\\.json is not valid JSON \\(.+\\)`));
      expect(e.message).not.toContain('SECRET');
    }
    fs.writeFileSync(files(dir).config, 'SECRET');
    expect(apiError(() => m.get(r.id)).message).not.toContain('SECRET');
    fs.writeFileSync(files(dir).config, JSON.stringify(tinyConfig()));
    fs.writeFileSync(files(dir).meta, '{"SECRET": [1,');
    const e = apiError(() => m.duplicate(r.id));
    expect([e.code, e.message.includes('meta.json is not valid JSON'), e.message.includes('SECRET')]).toEqual(['invalid-config', true, false]);
    expect(m.list().map((x) => x.id)).toEqual([r.id]); // the list still shows it
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false);
  });

  it('removes temp files of dead writers in every run folder when it starts, keeps live ones', () => {
    const { m } = newManager();
    const dir = path.join(m.runsDir, m.create(tinyConfig()).id);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.mkdirSync(path.join(dir, 'checkpoints'));
    const stale = [path.join(dir, `.summary.json.${dead}.1.tmp`), path.join(dir, 'checkpoints', `.round-000002.safetensors.${dead}.2.tmp`)];
    const live = path.join(dir, `.meta.json.${process.ppid}.3.tmp`);
    for (const f of [...stale, live]) fs.writeFileSync(f, 'x');
    newManager({ runsDir: m.runsDir });
    expect(stale.filter((f) => fs.existsSync(f))).toEqual([]);
    expect(fs.existsSync(live)).toBe(true);
  });
});
