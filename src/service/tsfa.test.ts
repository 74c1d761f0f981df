import { newRunDir } from './testFixtures';
import { describe, expect, it } from 'vitest';
import { executeRun } from './runner';
import { deterministicPart, files, readJson, readMetrics } from './runs/runStore';
import { validateRunConfig } from './validate';
import { rate } from '../engine/channel/channel';
import { parseConfig } from '../engine/config';

const strip = (rows: Record<string, unknown>[]) => rows.map(deterministicPart);

function tiny(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tsfa-tiny', seed: 3, backend: 'wasm',
    data: { trainSamples: 600, testSamples: 200 },
    train: { localSteps: 3 },
    federation: { numClients: 6, clientsPerRound: 3, rounds: 4 },
    compression: { method: 'soft' },
    channel: { bandwidthHz: 3e4 },
    control: { method: 'tsfa', latencyBudgetS: 1.2, V: 1 },
    ...over,
  };
}

const newRun = (input: Record<string, unknown>) => newRunDir(input, 'fedlora-tsfa-');

describe('TSFA in training runs', () => {
  it('logs the control fields; rates and finish times recompute from the row and config.json', async () => {
    const dir = newRun(tiny());
    await executeRun(dir);
    const rows = readMetrics<Record<string, any>>(dir).rows;
    const cfg = parseConfig(readJson(files(dir).config));
    for (const r of rows) {
      for (const k of ['queue', 'rho', 'shares', 'predictedError', 'roundTime', 'computeTime', 'commTime', 'gains', 'rates', 'clientBits', 'clientComputeTime']) expect(r, k).toHaveProperty(k);
      expect(r.shares.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
      const finish = r.clientIds.map((_: number, i: number) => {
        const R = rate(r.shares[i], r.gains[i], cfg.channel);
        expect(R / r.rates[i]).toBeCloseTo(1, 12);
        return r.clientComputeTime[i] + r.clientBits[i] / R;
      });
      expect(Math.max(...finish) / r.roundTime).toBeCloseTo(1, 9);
      expect(r.uplinkBits).toBe(r.clientBits.reduce((a: number, b: number) => a + b, 0));
    }
    expect(new Set(rows.map((r) => r.rho)).size).toBeGreaterThan(1); // the budget binds: rho adapts
    expect(rows.some((r) => r.queue > 0)).toBe(true);
    // the queue follows Q_{t+1} = max(Q_t + T_t - budget, 0)
    let q = 0;
    for (const r of rows) { q = Math.max(q + r.roundTime - 1.2, 0); expect(r.queue).toBeCloseTo(q, 12); }
  });

  it('a stopped tsfa run resumes to metrics identical to an uninterrupted one (queue and profiles checkpointed)', async () => {
    const full = newRun(tiny());
    await executeRun(full);
    const dir = newRun(tiny());
    let n = 0;
    expect((await executeRun(dir, { onRound: () => { n++; }, shouldStop: () => n >= 2 })).status).toBe('stopped');
    await executeRun(dir);
    expect(strip(readMetrics<Record<string, unknown>>(dir).rows)).toEqual(strip(readMetrics<Record<string, unknown>>(full).rows));
  });

  it('lora.rank "auto" runs the offline stage once, records every candidate in meta.json and trains at the chosen rank', async () => {
    const dir = newRun(tiny({ lora: { rank: 'auto' }, offline: { candidates: [2, 4, 8], pilotSamples: 64, pilotSteps: 3 }, federation: { numClients: 6, clientsPerRound: 3, rounds: 2 } }));
    await executeRun(dir);
    const meta = readJson<Record<string, any>>(files(dir).meta);
    expect(meta.offline.candidates.map((c: any) => c.rank)).toEqual([2, 4, 8]);
    for (const c of meta.offline.candidates) for (const k of ['expectedLatencyFull', 'rhoBar', 'score']) expect(c).toHaveProperty(k);
    expect(meta.offline.pilot.energy).toHaveLength(9);
    const rows = readMetrics<Record<string, any>>(dir).rows;
    // rho is searched over j / r of the chosen rank
    for (const r of rows) expect(Math.round(r.rho * meta.offline.chosenRank)).toBeCloseTo(r.rho * meta.offline.chosenRank, 9);
  });

  it('an infeasible budget is a config error naming control.latencyBudgetS', () => {
    const v = validateRunConfig(tiny({ control: { method: 'tsfa', latencyBudgetS: 0.001 } }), process.cwd());
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.issues[0]).toMatchObject({ path: 'control.latencyBudgetS', message: expect.stringMatching(/infeasible: .*raise it to at least/) });
  });
});
