import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deterministicPart } from '../service/runs/runStore';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_ARGS } from '../service/workers';

const root = path.resolve(__dirname, '../..');

function grid(dir: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'grid.json');
  fs.writeFileSync(file, JSON.stringify({
    name: 'smoke',
    base: { backend: 'wasm', data: { dataset: path.join(root, 'resources/data/fashion-mnist'), trainSamples: 400, testSamples: 100 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 2 } },
    grid: { 'compression.method': ['none', 'soft'], seed: [0, 1] },
    ...extra,
  }));
  return file;
}

const rowsOf = (d: string) => fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => deterministicPart(JSON.parse(l)));

describe('fedlora sweep', () => {
  it('expands the grid, runs it in parallel, and a killed sweep resumes with no run lost or duplicated', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-sweep-'));
    const file = grid(dir), out = path.join(dir, 'out');
    // start, then kill the sweep once the first run has completed
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, 'sweep', '--config', file, '--out', out, '--parallel', '2'], { cwd: root, stdio: 'ignore' });
    const deadline = Date.now() + 120_000;
    const completed = () => (fs.existsSync(out) ? fs.readdirSync(out).filter((d) => {
      try { return JSON.parse(fs.readFileSync(path.join(out, d, 'summary.json'), 'utf8')).status === 'completed'; } catch { return false; }
    }).length : 0);
    while (Date.now() < deadline && completed() < 1) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(completed()).toBeGreaterThanOrEqual(1);
    expect(completed()).toBeLessThan(4);
    const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'sweep', '--config', file, '--out', out, '--parallel', '2'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toBe(out);
    const runs = fs.readdirSync(out).filter((d) => /^r\d{3}-/.test(d));
    expect(runs.sort()).toEqual(['r000-method-none-seed-0', 'r001-method-none-seed-1', 'r002-method-soft-seed-0', 'r003-method-soft-seed-1']);
    for (const d of runs) {
      expect(JSON.parse(fs.readFileSync(path.join(out, d, 'summary.json'), 'utf8')).status).toBe('completed');
      expect(rowsOf(path.join(out, d)).map((x) => x.round)).toEqual([1, 2]);
    }
    // runs of one seed share the partition and sampling: same clients each round
    expect(rowsOf(path.join(out, runs[0])).map((x) => x.clientIds)).toEqual(rowsOf(path.join(out, runs[2])).map((x) => x.clientIds));
    // ... and the same channel draws, whatever the method
    expect(rowsOf(path.join(out, runs[0])).map((x) => x.gains)).toEqual(rowsOf(path.join(out, runs[2])).map((x) => x.gains));
    // the sweep ends with a comparison report of its runs
    const html = fs.readFileSync(path.join(out, 'report', 'report.html'), 'utf8');
    for (const d of runs) expect(html).toContain(JSON.parse(fs.readFileSync(path.join(out, d, 'config.json'), 'utf8')).name);
    expect(r.stderr).toMatch(/comparison report of 4 runs: .*report\.html/);
    // a resumed run equals the same config run solo
    const solo = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'resume', path.join(out, runs[3])], { cwd: root, encoding: 'utf8' });
    expect(solo.status).toBe(0);
  });

  it('rejects a bad grid naming the run and the field, writing nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-sweep-'));
    const file = grid(dir, { grid: { 'lora.rank': [4, 0] } });
    const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'sweep', '--config', file, '--out', path.join(dir, 'out')], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('run r001-rank-0: lora.rank: must be an integer >= 1, got 0');
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });
});
