import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deterministicPart } from './runs/runStore';
import { newRunDir } from './testFixtures';
import { describe, expect, it } from 'vitest';
import { executeRun } from './runner';
import { files, readJson, readMetrics, type RunSummary } from './runs/runStore';
import { listCheckpoints } from './runs/checkpoint';

const strip = (rows: Record<string, unknown>[]) => rows.map(deterministicPart);

function tiny(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny', seed: 7, backend: 'wasm',
    data: { trainSamples: 300, testSamples: 100 },
    federation: { numClients: 4, clientsPerRound: 2, rounds: 3 },
    ...over,
  };
}

const newRun = (input: Record<string, unknown>) => newRunDir(input, 'fedlora-run-');

async function runRows(input: Record<string, unknown>) {
  const dir = newRun(input);
  const summary = await executeRun(dir);
  return { dir, summary, rows: readMetrics<Record<string, unknown>>(dir).rows };
}

/** An uninterrupted run of `input`, trained once per config in this file: the reference of the resume tests. */
const references = new Map<string, ReturnType<typeof runRows>>();
const reference = (input: Record<string, unknown>) => {
  const key = JSON.stringify(input);
  if (!references.has(key)) references.set(key, runRows(input));
  return references.get(key)!;
};

describe('runner', () => {
  it('writes the run directory contract', async () => {
    const { dir, summary, rows } = await reference(tiny());
    expect(summary.status).toBe('completed');
    expect(rows.map((r) => r.round)).toEqual([1, 2, 3]);
    for (const k of ['trainLoss', 'testAcc', 'uplinkBits', 'cumUplinkBits', 'roundTime', 'cumTime', 'wallMs']) expect(rows[2]).toHaveProperty(k);
    expect(rows[2].cumUplinkBits).toBe((rows[0].uplinkBits as number) * 3); // dense: equal bits each round
    const s = readJson<RunSummary>(files(dir).summary);
    expect(s).toMatchObject({ status: 'completed', rounds: 3, backend: 'wasm', totalUplinkBits: rows[2].cumUplinkBits, finalAcc: rows[2].testAcc });
    const meta = readJson<Record<string, any>>(files(dir).meta);
    expect(meta.backend.name).toBe('wasm');
    expect(meta.seed).toBe(7);
    expect(listCheckpoints(dir).map((c) => c.round)).toEqual([2, 3]);
  });

  it('is deterministic: same config and seed give identical metrics for every compressor', async () => {
    for (const method of ['none', 'soft', 'topk', 'randk', 'svd']) {
      const cfg = tiny({ compression: { method, rho: 0.5 }, soft: { lambda: method === 'soft' ? 0.01 : 0 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 2 } });
      const a = await runRows(cfg), b = await runRows(cfg);
      expect(strip(a.rows), method).toEqual(strip(b.rows));
      expect(a.rows[1].rho).toBe(method === 'none' ? 1 : 0.5);
    }
    const c = await runRows(tiny({ seed: 8 }));
    const d = await reference(tiny());
    expect(strip(c.rows)).not.toEqual(strip(d.rows));
  });

  it('resumes after a stop or a crash with bit-identical metrics', async () => {
    const full = await runRows(tiny({ federation: { numClients: 4, clientsPerRound: 2, rounds: 4 } }));
    // stop after round 2, then resume
    const dir = newRun(tiny({ federation: { numClients: 4, clientsPerRound: 2, rounds: 4 } }));
    let n = 0;
    const stopped = await executeRun(dir, { onRound: () => { n++; }, shouldStop: () => n >= 2 });
    expect(stopped.status).toBe('stopped');
    expect(stopped.rounds).toBe(2);
    // simulate a crash mid-way through round 3: a torn line appended
    fs.appendFileSync(files(dir).metrics, '{"round":3,"trainLo');
    const resumed = await executeRun(dir);
    expect(resumed.status).toBe('completed');
    expect(strip(readMetrics<Record<string, unknown>>(dir).rows)).toEqual(strip(full.rows));
  });

  it('runs and resumes a run directory written before later config sections existed (defaults filled)', async () => {
    const dir = newRun(tiny({ federation: { numClients: 4, clientsPerRound: 2, rounds: 2 } }));
    const cfg = JSON.parse(fs.readFileSync(files(dir).config, 'utf8'));
    for (const k of ['channel', 'control', 'offline']) delete cfg[k];
    for (const k of Object.keys(cfg.data)) if (!['dataset', 'trainSamples', 'testSamples'].includes(k)) delete cfg.data[k];
    for (const k of Object.keys(cfg.model)) if (k !== 'name') delete cfg.model[k];
    fs.writeFileSync(files(dir).config, JSON.stringify(cfg));
    const s = await executeRun(dir);
    expect(s.status).toBe('completed');
    expect(readMetrics<Record<string, unknown>>(dir).rows).toHaveLength(2);
  });

  it('falls back to the previous checkpoint when the newest is corrupt', async () => {
    const cfg = tiny();
    const full = await reference(cfg);
    const dir = newRun(cfg);
    await executeRun(dir);
    const [older, newest] = listCheckpoints(dir);
    const bytes = fs.readFileSync(newest.file); bytes[bytes.length - 1] ^= 0xff; fs.writeFileSync(newest.file, bytes);
    // pretend the run died after round 3 was logged: resume must redo round 3 from checkpoint 2
    const logs: string[] = [];
    fs.writeFileSync(files(dir).summary, JSON.stringify({ status: 'interrupted' }));
    const s = await executeRun(dir, { onLog: (l) => logs.push(l) });
    expect(logs.some((l) => l.includes('checksum mismatch'))).toBe(true);
    expect(logs).toContain(`resuming after round ${older.round}`);
    expect(s.status).toBe('completed');
    expect(strip(readMetrics<Record<string, unknown>>(dir).rows)).toEqual(strip(full.rows));
  });
});

describe('runner: unusable checkpoints and leftovers', () => {
  const cfg = tiny({ federation: { numClients: 4, clientsPerRound: 2, rounds: 3 }, checkpoint: { every: 1, keep: 2 } });
  const stopAfter = async (dir: string, rounds: number) => { let n = 0; await executeRun(dir, { onRound: () => { n++; }, shouldStop: () => n >= rounds }); };

  it('starts over from round 0 when the only checkpoint lost its checksum or every checkpoint is corrupt, with identical metrics', async () => {
    const full = await reference(tiny()); // a checkpoint every round changes no metric
    // killed after round-000001.safetensors landed but before its .sha256 (the old write order)
    const a = newRun(cfg);
    await stopAfter(a, 1);
    fs.rmSync(listCheckpoints(a)[0].file + '.sha256');
    const logsA: string[] = [];
    expect((await executeRun(a, { onLog: (l) => logsA.push(l) })).status).toBe('completed');
    expect(logsA.some((l) => /checkpoint skipped: .*round-000001\.safetensors.*ENOENT/.test(l))).toBe(true);
    expect(logsA.some((l) => l.startsWith('no usable checkpoint: starting over from round 0'))).toBe(true);
    expect(strip(readMetrics<Record<string, unknown>>(a).rows)).toEqual(strip(full.rows));
    // every checkpoint corrupt
    const b = newRun(cfg);
    await stopAfter(b, 2);
    for (const c of listCheckpoints(b)) { const x = fs.readFileSync(c.file); x[100] ^= 0xff; fs.writeFileSync(c.file, x); }
    const logsB: string[] = [];
    expect((await executeRun(b, { onLog: (l) => logsB.push(l) })).status).toBe('completed');
    expect(logsB.filter((l) => l.includes('checksum mismatch'))).toHaveLength(2);
    expect(logsB.some((l) => l.startsWith('no usable checkpoint: starting over from round 0 (the 2 round(s)'))).toBe(true);
    expect(strip(readMetrics<Record<string, unknown>>(b).rows)).toEqual(strip(full.rows));
    expect(listCheckpoints(b).map((c) => c.round)).toEqual([2, 3]);
  });

  it('removes the temp files of dead writers when the run starts, keeps a live writer\'s, and refuses a symlinked run directory', async () => {
    const { spawnSync } = await import('node:child_process');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const dir = newRun(cfg);
    fs.mkdirSync(path.join(dir, 'checkpoints'));
    const stale = [path.join(dir, `.summary.json.${dead}.${Date.now()}.tmp`), path.join(dir, 'checkpoints', `.round-000001.safetensors.${dead}.${Date.now()}.tmp`),
      path.join(dir, `.summary.json.${process.pid}.${Date.now() - 3_600_000}.tmp`)];
    const live = path.join(dir, `.meta.json.${process.ppid}.${Date.now()}.tmp`);
    for (const f of [...stale, live]) fs.writeFileSync(f, 'x'.repeat(1000));
    const link = path.join(path.dirname(dir), 'link-to-run');
    fs.symlinkSync(dir, link);
    await expect(executeRun(link)).rejects.toThrow(/symbolic link/);
    expect(fs.existsSync(path.join(dir, 'summary.json'))).toBe(false);
    const logs: string[] = [];
    await executeRun(dir, { onLog: (l) => logs.push(l), shouldStop: () => true });
    expect(logs[0]).toBe('removed 3 temp file(s) left by killed writers');
    for (const f of stale) expect(fs.existsSync(f), f).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });
});

describe('runner on a failing disk', () => {
  it('a full disk fails the run with the file named, corrupts nothing, and the run resumes identically', async () => {
    const { injectWriteFault } = await import('./runs/fsutil');
    const cfg = tiny();
    const full = await reference(cfg);
    const dir = newRun(cfg);
    let appends = 0;
    injectWriteFault((file) => {
      if (file.endsWith('metrics.jsonl') && ++appends === 2) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' });
      if (appends >= 2) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' });
    });
    try {
      await expect(executeRun(dir)).rejects.toThrow(/ENOSPC.*metrics\.jsonl/);
    } finally {
      injectWriteFault(null);
    }
    // nothing torn or half-written: config and meta parse, metrics hold exactly round 1, no temp files
    expect(readJson<Record<string, unknown>>(files(dir).config)).toHaveProperty('seed', 7);
    expect(readJson<Record<string, unknown>>(files(dir).meta)).toHaveProperty('runId');
    expect(readMetrics(dir).rows).toHaveLength(1);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const s = await executeRun(dir);
    expect(s.status).toBe('completed');
    expect(strip(readMetrics<Record<string, unknown>>(dir).rows)).toEqual(strip(full.rows));
  });
});

describe('run lock', () => {
  it('refuses a second writer on the same run directory while the first is alive', async () => {
    const { acquireRunLock, RunLockedError } = await import('./runs/lock');
    const dir = newRun(tiny());
    fs.writeFileSync(path.join(dir, 'run.lock'), JSON.stringify({ pid: process.ppid, host: os.hostname() }));
    await expect(executeRun(dir)).rejects.toThrow(RunLockedError);
    expect(readMetrics(dir).rows).toHaveLength(0);
    // a lock left by a dead process is stale and taken over
    fs.writeFileSync(path.join(dir, 'run.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname() }));
    const release = acquireRunLock(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.lock'), 'utf8')).pid).toBe(process.pid);
    release();
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false);
  });
});
