import { describe, expect, it } from 'vitest';
import { parseConfig, resolved, type ExperimentConfigInput } from '../config';
import type { VitSpec } from '../model/types';
import { tailCurve } from './controller';
import { TsfaController } from './tsfa';
import { RoundClock } from './clock';
import { expectedLatency, energyCurve, scoreRanks } from '../fl/offline';
import { latencyFloor, newSimState, simulateRound, type SimRow } from './simulate';

const spec: VitSpec = { arch: 'vit', imageSize: 28, channels: 1, patchSize: 7, dim: 64, depth: 4, heads: 4, mlpDim: 128, numClasses: 10 };
const shards = Array.from({ length: 20 }, (_, k) => 400 + 20 * k);

function config(over: ExperimentConfigInput = {}) {
  return parseConfig({
    seed: 5,
    federation: { numClients: 20, clientsPerRound: 5, rounds: 2000 },
    compression: { method: 'soft', rho: 0.25 },
    channel: { bandwidthHz: 1e5 },
    ...over,
  });
}

function simulate(over: ExperimentConfigInput, rounds: number): SimRow[] {
  const cfg = resolved(config(over));
  const lm = new RoundClock({ config: cfg, spec, shardSizes: shards });
  const st = newSimState();
  return Array.from({ length: rounds }, () => simulateRound(lm, st, { kind: 'synthetic', seed: cfg.seed, decay: 1, noise: 0.3 }, cfg.lora.rank));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Mean latency of ideal (rho = 1) and the floor (rho = 1/r, min-max shares) for the default setup. */
function bounds(): { ideal: number; floor: number } {
  const ideal = mean(simulate({ control: { method: 'ideal' } }, 300).map((r) => r.roundTime));
  const lm = new RoundClock({ config: resolved(config()), spec, shardSizes: shards });
  return { ideal, floor: latencyFloor(lm, 1 / 8, 300).minMeanLatency };
}

describe('TSFA online control (simulate)', () => {
  const { ideal, floor } = bounds();

  it('the setup is communication-bound enough for control to matter', () => {
    expect(ideal).toBeGreaterThan(floor * 1.3);
  });

  it('keeps the mean round time within budget x 1.02 over 2000 rounds', () => {
    const budget = floor + 0.4 * (ideal - floor);
    const rows = simulate({ control: { method: 'tsfa', latencyBudgetS: budget, V: 1 } }, 2000);
    expect(mean(rows.map((r) => r.roundTime))).toBeLessThanOrEqual(budget * 1.02);
    const rhos = new Set(rows.map((r) => r.rho));
    expect(rhos.size).toBeGreaterThan(1); // it adapts
    expect(mean(rows.map((r) => r.rho))).toBeLessThan(1);
  });

  it('larger V gives a larger mean rho and a larger mean queue', () => {
    const budget = floor + 0.4 * (ideal - floor);
    const stats = [0.01, 0.1, 1, 10].map((V) => {
      const rows = simulate({ control: { method: 'tsfa', latencyBudgetS: budget, V } }, 2000);
      return { rho: mean(rows.map((r) => r.rho)), queue: mean(rows.map((r) => r.queue)) };
    });
    for (let i = 1; i < stats.length; i++) {
      expect(stats[i].rho).toBeGreaterThanOrEqual(stats[i - 1].rho);
      expect(stats[i].queue).toBeGreaterThanOrEqual(stats[i - 1].queue);
    }
    expect(stats[3].rho).toBeGreaterThan(stats[0].rho);
    expect(stats[3].queue).toBeGreaterThan(stats[0].queue);
  });

  it('a slack budget gives rho = 1 and equal shares every round', () => {
    const rows = simulate({ control: { method: 'tsfa', latencyBudgetS: ideal * 20, V: 1 } }, 500);
    for (const r of rows) {
      expect(r.rho).toBe(1);
      expect(r.queue).toBe(0);
      for (const s of r.shares) expect(s).toBe(1 / 5);
    }
  });

  it('fixed-opt is never slower than fixed; ideal sends every component', () => {
    const fixed = simulate({ control: { method: 'fixed' } }, 200), opt = simulate({ control: { method: 'fixed-opt' } }, 200);
    for (let i = 0; i < 200; i++) expect(opt[i].roundTime).toBeLessThanOrEqual(fixed[i].roundTime * (1 + 1e-12));
    expect(fixed.every((r) => r.rho === 0.25)).toBe(true);
    expect(simulate({ control: { method: 'ideal' } }, 5).every((r) => r.rho === 1 && r.predictedError === 0)).toBe(true);
  });

  it('identical channel draws whatever the compressor or controller', () => {
    const a = simulate({ control: { method: 'fixed' } }, 20);
    const b = simulate({ compression: { method: 'topk', rho: 0.5 }, control: { method: 'ideal' } }, 20);
    expect(b.map((r) => r.gains)).toEqual(a.map((r) => r.gains));
    expect(b.map((r) => r.clientIds)).toEqual(a.map((r) => r.clientIds));
  });

  it('controller state survives a JSON round trip: a resumed simulation equals an uninterrupted one', () => {
    const over = { control: { method: 'tsfa' as const, latencyBudgetS: floor + 0.3 * (ideal - floor), V: 1 } };
    const cfg = resolved(config(over));
    const src = { kind: 'synthetic' as const, seed: 5, decay: 1, noise: 0.3 };
    const full = simulate(over, 100);
    const lm1 = new RoundClock({ config: cfg, spec, shardSizes: shards });
    const st = newSimState();
    const first = Array.from({ length: 50 }, () => simulateRound(lm1, st, src, 8));
    const lm2 = new RoundClock({ config: cfg, spec, shardSizes: shards });
    const st2 = JSON.parse(JSON.stringify(st));
    const second = Array.from({ length: 50 }, () => simulateRound(lm2, st2, src, 8));
    expect([...first, ...second]).toEqual(full);
  });
});

describe('predicted error', () => {
  it('tail curve of constructed profiles', () => {
    const t = tailCurve({ a: [3, 0, 4], b: [0, 0, 0] }, 3);
    expect(t).toEqual([1, 9 / 25, 0, 0]);
  });
  it('unknown clients use the mean known curve; none known: a flat prior', () => {
    const c = new TsfaController({ spec: { method: 'tsfa', latencyBudgetS: 1, V: 1 }, channel: config().channel, fixedRho: 0.25, rank: 4, sparsifies: true });
    expect(c.predictedError([0], 0.5)).toBeCloseTo(0.5, 12);
    c.recordProfile(1, { x: [1, 1, 0, 0] });
    expect(c.predictedError([1], 0.5)).toBe(0);
    expect(c.predictedError([1], 0.25)).toBeCloseTo(0.5, 12);
    expect(c.predictedError([7], 0.25)).toBeCloseTo(0.5, 12);
  });
});

describe('TSFA offline stage', () => {
  const energy = energyCurve([Array.from({ length: 32 }, (_, i) => (i + 1) ** -0.7)], 32);

  it('energy curve: 0 at m = 0, 1 at full rank, increasing', () => {
    expect(energy[0]).toBe(0);
    expect(energy[32]).toBeCloseTo(1, 12);
    for (let m = 1; m <= 32; m++) expect(energy[m]).toBeGreaterThan(energy[m - 1]);
  });

  function chosen(budget: number, bandwidthHz: number): number {
    const cfg = config({ lora: { rank: 'auto' }, control: { method: 'tsfa', latencyBudgetS: budget }, channel: { bandwidthHz } });
    return scoreRanks(cfg.offline.candidates, budget, energy, expectedLatency(cfg, spec, shards)).chosenRank;
  }

  it('the chosen rank does not decrease when the budget grows', () => {
    const ranks = [0.8, 1.0, 1.3, 1.7, 2.2, 3, 4, 6, 10, 20].map((b) => chosen(b, 1e5));
    for (let i = 1; i < ranks.length; i++) expect(ranks[i]).toBeGreaterThanOrEqual(ranks[i - 1]);
    expect(ranks[ranks.length - 1]).toBeGreaterThan(ranks[0]);
  });

  it('the chosen rank does not decrease when the bandwidth grows', () => {
    const ranks = [2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7].map((w) => chosen(1.5, w));
    for (let i = 1; i < ranks.length; i++) expect(ranks[i]).toBeGreaterThanOrEqual(ranks[i - 1]);
    expect(ranks[ranks.length - 1]).toBeGreaterThan(ranks[0]);
  });
});
