import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_ARGS } from '../service/workers';

const root = path.resolve(__dirname, '../..');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function config(control: Record<string, unknown>, over: Record<string, unknown> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-sim-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify({ name: 'sim', seed: 2, compression: { method: 'soft' }, channel: { bandwidthHz: 1e5 }, control, ...over }));
  return { file, out: path.join(dir, 'runs') };
}

describe('fedlora simulate', () => {
  it('runs 3000 rounds of channel + tsfa within the budget and writes the run-directory contract', () => {
    const { file, out } = config({ method: 'tsfa', latencyBudgetS: 2.5, V: 1 });
    const r = cli(['simulate', '--config', file, '--rounds', '3000', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const dir = r.stdout.trim().split('\n').pop()!;
    const rows = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(3000);
    for (const k of ['queue', 'rho', 'shares', 'predictedError', 'roundTime', 'cumTime', 'gains', 'rates', 'clientIds']) expect(rows[0]).toHaveProperty(k);
    const mean = rows.reduce((a, x) => a + x.roundTime, 0) / rows.length;
    expect(mean).toBeLessThanOrEqual(2.5 * 1.02);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'))).toMatchObject({ status: 'completed', rounds: 3000 });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).federation.rounds).toBe(3000);
    expect(r.stderr).toMatch(/3000 rounds in [\d.]+ s: mean round time/);
  });

  it('refuses an infeasible budget, a missing --rounds and lora.rank "auto" with exit 2, writing nothing', () => {
    const bad = config({ method: 'tsfa', latencyBudgetS: 0.01 });
    const r = cli(['simulate', '--config', bad.file, '--rounds', '10', '--out', bad.out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/control\.latencyBudgetS: infeasible: the smallest long-run mean round time reachable is [\d.]+ s \(at rho = 1\/\d+ with optimal shares: .*standard error [\d.]+ s; computation alone [\d.]+ s\)/);
    expect(fs.existsSync(bad.out)).toBe(false);
    const ok = config({ method: 'tsfa', latencyBudgetS: 3 });
    expect(cli(['simulate', '--config', ok.file, '--out', ok.out]).code).toBe(2);
    const auto = config({ method: 'tsfa', latencyBudgetS: 3 }, { lora: { rank: 'auto' } });
    const a = cli(['simulate', '--config', auto.file, '--rounds', '5', '--out', auto.out]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/lora\.rank "auto"/);
    const noBudget = config({ method: 'tsfa' });
    const n = cli(['simulate', '--config', noBudget.file, '--rounds', '5', '--out', noBudget.out]);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/control\.latencyBudgetS: control\.method "tsfa" needs a latency budget/);
  });
});
