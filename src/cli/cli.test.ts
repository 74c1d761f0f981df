import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deterministicPart } from '../service/runs/runStore';
import { describe, expect, it, vi } from 'vitest';
import { main } from './main';
import { CLI_NODE_ARGS } from '../service/workers';

const root = path.resolve(__dirname, '../..');
// The CLI runs as one node process (CLI_NODE_ARGS; the tsx binary would fork a child that SIGKILL cannot reach).
// The in-process cases below (main() called here) all stop at argument checks: under vitest the
// CLI's lazy require() of a command module is Node's own, which cannot load a .ts file.

function cli(args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FEDLORA_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI's main() in this process, its stdout and stderr captured: for bad-input cases whose
 *  exit code is also checked on a real process elsewhere in this file (no tsx start-up per case). */
async function inProcess(args: string[]) {
  let stdout = '', stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { stdout += String(s); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { stderr += String(s); return true; });
  try { return { code: await main(args), stdout, stderr }; } finally { out.mockRestore(); err.mockRestore(); }
}

function tmpConfig(content: unknown): { file: string; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-cli-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return { file, out: path.join(dir, 'runs') };
}

describe('fedlora CLI: bad input', () => {
  it('exits 2 with one message per problem naming the JSON path, and writes nothing', () => {
    const { file, out } = tmpConfig({ lora: { rank: 0, targets: ['q', 'x'] }, bogus: 1 });
    const r = cli(['run', '--config', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('lora.rank: must be an integer >= 1, got 0');
    expect(r.stderr).toContain('lora.targets.1: must be one of q, k, v, o, fc1, fc2, got "x"');
    expect(r.stderr).toMatch(/unknown key\(s\) "bogus"/);
    expect(fs.existsSync(out)).toBe(false);
    expect(r.stdout).toBe('');
  });

  it('checks fields against each other once each field is valid (in process)', async () => {
    const { file, out } = tmpConfig({ federation: { numClients: 4, clientsPerRound: 5 } });
    const r = await inProcess(['run', '--config', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('federation.clientsPerRound: must be <= federation.numClients (4), got 5');
  });

  it('exits 2 for a missing dataset folder, relative to the config file (in process)', async () => {
    const { file, out } = tmpConfig({ data: { dataset: 'no-such-folder' } });
    const r = await inProcess(['run', '--config', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`data.dataset: no such file or folder ${path.join(path.dirname(file), 'no-such-folder')}`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('exits 2 for invalid JSON, a missing file, and a bad flag (in process; an unknown command in a real one)', async () => {
    const { file, out } = tmpConfig('{"seed": 1,');
    const bad = await inProcess(['run', '--config', file, '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/c\.json: not valid JSON/);
    expect(fs.existsSync(out)).toBe(false);
    expect((await inProcess(['run', '--config', '/nope.json'])).code).toBe(2);
    const good = tmpConfig({});
    const r = await inProcess(['run', '--config', good.file, '--rounds', 'ten']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rounds: must be an integer, got "ten"');
    expect(cli(['frobnicate']).code).toBe(2);
  });
});

describe('fedlora CLI: kill -9 and resume', () => {
  it('a run killed mid-training resumes from its last completed round with identical metrics', async () => {
    const cfg = { seed: 3, backend: 'wasm', data: { dataset: path.join(root, 'resources/data/fashion-mnist'), trainSamples: 400, testSamples: 100 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 5 } };
    const { spawn } = await import('node:child_process');
    // the uninterrupted reference run goes alongside the run that is killed
    const ref = tmpConfig(cfg);
    const refRun = new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const c = spawn(process.execPath, [...CLI_NODE_ARGS, 'run', '--config', ref.file, '--out', ref.out], { cwd: root, env: { ...process.env, FEDLORA_BACKEND: 'wasm' }, stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      c.stdout.on('data', (d) => { stdout += d; });
      c.on('close', (code) => resolve({ code, stdout }));
    });

    const k = tmpConfig(cfg);
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, 'run', '--config', k.file, '--out', k.out], { cwd: root, stdio: 'ignore' });
    const metricsOf = () => {
      if (!fs.existsSync(k.out)) return null;
      const d = fs.readdirSync(k.out)[0];
      return d ? path.join(k.out, d, 'metrics.jsonl') : null;
    };
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const m = metricsOf();
      if (m && fs.existsSync(m) && fs.readFileSync(m, 'utf8').split('\n').filter(Boolean).length >= 2) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    child.kill('SIGKILL');
    await new Promise((res) => child.on('exit', res));
    const dir = path.dirname(metricsOf()!);
    const before = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(5);
    const r = await refRun;
    expect(r.code).toBe(0);
    const refDir = r.stdout.trim().split('\n').pop()!;
    expect(fs.existsSync(path.join(refDir, 'summary.json'))).toBe(true);
    const res = cli(['resume', dir]);
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n').pop()).toBe(dir);
    const rows = (d: string) => fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean)
      .map((l) => deterministicPart(JSON.parse(l)));
    expect(rows(dir)).toEqual(rows(refDir));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).status).toBe('completed');
  });

  it('resume rejects a folder that is not a run', () => {
    const r = cli(['resume', os.tmpdir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a run directory');
  });
});

describe('fedlora CLI: concurrent runs', () => {
  it('two runs at once finish complete and independent (each equals its solo run)', async () => {
    const { spawn } = await import('node:child_process');
    const cfg = (seed: number) => ({ seed, backend: 'wasm', data: { dataset: path.join(root, 'resources/data/fashion-mnist'), trainSamples: 300, testSamples: 100 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 3 } });
    const a = tmpConfig(cfg(11)), b = tmpConfig(cfg(12));
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-conc-'));
    const runBg = (file: string) => new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, [...CLI_NODE_ARGS, 'run', '--config', file, '--out', outDir], { cwd: root });
      let out = '';
      c.stdout.on('data', (d) => { out += d; });
      c.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').pop()!) : reject(new Error(`exit ${code}`))));
    });
    const [dirA, dirB] = await Promise.all([runBg(a.file), runBg(b.file)]);
    expect(dirA).not.toBe(dirB);
    const rows = (d: string) => fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean)
      .map((l) => deterministicPart(JSON.parse(l)));
    expect(rows(dirA)).toHaveLength(3);
    expect(rows(dirB)).toHaveLength(3);
    expect(rows(dirA)).not.toEqual(rows(dirB));
    const solo = cli(['run', '--config', a.file, '--out', outDir]);
    expect(rows(solo.stdout.trim().split('\n').pop()!)).toEqual(rows(dirA));
    for (const d of [dirA, dirB]) expect(JSON.parse(fs.readFileSync(path.join(d, 'summary.json'), 'utf8')).status).toBe('completed');
  });
});
