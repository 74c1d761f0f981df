import { describe, expect, it } from 'vitest';
import { meanInterval, pairedInterval, tQuantile975 } from './stats';
import { formatPairedTable, formatParetoTable, pairedDifferences, paretoFigure, paretoPoints, paretoQsgdSweep, paretoRun, paretoSoftL0Sweep, paretoSweep, verdict, type ParetoRun } from './pareto';

describe('replication statistics', () => {
  it('95% t-interval of the mean: t(0.975, 2) = 4.303 for three values', () => {
    const iv = meanInterval([0.7, 0.8, 0.9]);
    expect(iv.mean).toBeCloseTo(0.8, 12);
    expect(iv.sd).toBeCloseTo(0.1, 12);
    expect(iv.half).toBeCloseTo(4.303 * 0.1 / Math.sqrt(3), 12);
    expect(meanInterval([0.5]).half).toBeNull();
    expect(tQuantile975(100)).toBe(1.96);
    expect(() => tQuantile975(0)).toThrow(/positive integer/);
  });

  it('paired differences use only the seeds both sides have, and their spread is that of the differences', () => {
    // baseline varies a lot over seeds, the difference does not: a paired interval is narrow
    const a = new Map([[0, 0.61], [1, 0.81], [2, 0.71], [3, 0.5]]), b = new Map([[0, 0.6], [1, 0.8], [2, 0.7]]);
    const d = pairedInterval(a, b);
    expect(d.seeds).toEqual([0, 1, 2]);
    expect(d.mean).toBeCloseTo(0.01, 12);
    expect(d.sd).toBeCloseTo(0, 12);
    expect(verdict(d)).toBe('SOFT better');
    expect(verdict({ n: 3, mean: -0.02, sd: 0.001, half: 0.005 })).toBe('SOFT worse');
    expect(verdict({ n: 3, mean: 0.01, sd: 0.02, half: 0.05 })).toBe('no clear difference');
  });
});

describe('Pareto fronts', () => {
  const runs: ParetoRun[] = [];
  for (const seed of [0, 1, 2]) for (const method of ['soft', 'topk']) for (const rho of [0.25, 1]) {
    runs.push({ method, rho, seed, finalAcc: 0.7 + 0.1 * rho + (method === 'soft' ? 0.01 : 0) + 0.02 * seed, bits: 1e6 * rho + (method === 'topk' ? 1000 : 0) });
  }

  it('one sweep per seed: every method x ratio on the same base; only SOFT has the regulariser', () => {
    const s = paretoSweep({ name: 'x', federation: { rounds: 5 } }, 3) as any;
    expect(s.base.seed).toBe(3);
    expect(s.grid['compression.rho']).toEqual([0.125, 0.25, 0.5, 1]);
    expect(s.variants.map((v: any) => v.set['compression.method'])).toEqual(['soft', 'topk', 'randk', 'svd']);
    expect(s.variants.map((v: any) => v.set['soft.lambda'])).toEqual([0.01, 0, 0, 0]);
  });

  it('points: mean over seeds per (method, rho); paired rows: SOFT minus the baseline per seed', () => {
    const pts = paretoPoints(runs);
    expect(pts).toHaveLength(4);
    const p = pts.find((x) => x.method === 'topk' && x.rho === 0.25)!;
    expect(p.acc.mean).toBeCloseTo(0.7 + 0.025 + 0.02, 12);
    expect(p.seeds).toEqual([0, 1, 2]);
    const rows = pairedDifferences(runs);
    expect(rows.map((r) => [r.baseline, r.rho])).toEqual([['topk', 0.25], ['topk', 1]]);
    for (const r of rows) { expect(r.diff.mean).toBeCloseTo(0.01, 12); expect(r.diff.n).toBe(3); }
    expect(formatPairedTable(rows)[2]).toMatch(/^\| top-k \| 0.25 \| 3 \| \+1.00 ± 0.00 \|/);
  });

  it('QSGD: one sweep per seed over its levels on the same base, plain LoRA; a point per level, not paired with SOFT', () => {
    const s = paretoQsgdSweep({ name: 'x', compression: { method: 'soft', rho: 0.5 }, soft: { lambda: 0.01 } }, 2) as any;
    expect(s.base).toMatchObject({ seed: 2, compression: { method: 'qsgd', rho: 0.5 }, soft: { lambda: 0 } });
    expect(s.grid['compression.levels']).toEqual([1, 3, 15, 255]);
    const q: ParetoRun[] = [];
    for (const seed of [0, 1, 2]) for (const levels of [15, 1]) q.push({ method: 'qsgd', rho: 0.25, levels, seed, finalAcc: 0.6 + levels / 100, bits: 1e5 * levels });
    const pts = paretoPoints([...runs, ...q]);
    expect(pts.filter((p) => p.method === 'qsgd').map((p) => [p.levels, p.acc.mean])).toEqual([[1, expect.closeTo(0.61, 12)], [15, expect.closeTo(0.75, 12)]]);
    expect(pts.at(-1)!.method).toBe('qsgd');
    expect(formatParetoTable(pts).find((l) => l.startsWith('| QSGD | s = 15 | 3 |'))).toBeDefined();
    expect(pairedDifferences([...runs, ...q]).map((r) => r.baseline)).toEqual(['topk', 'topk']);
  });

  it('SOFT at lambda 0: its own sweep per seed on the same base, its own series, paired with SOFT (what the regulariser buys)', () => {
    const s = paretoSoftL0Sweep({ name: 'x', compression: { method: 'topk', rho: 0.5 }, soft: { lambda: 0.01 } }, 4) as any;
    expect(s.base).toMatchObject({ seed: 4, compression: { method: 'soft' }, soft: { lambda: 0 } });
    expect(s.grid['compression.rho']).toEqual([0.125, 0.25, 0.5, 1]);
    const cfg = (method: string, lambda: number, levels?: number) => ({ compression: { method, rho: 0.25, levels }, soft: { lambda } });
    expect(paretoRun(cfg('soft', 0), 1, 0.7, 10).method).toBe('soft-l0');
    expect(paretoRun(cfg('soft', 0.01), 1, 0.7, 10).method).toBe('soft');
    expect(paretoRun(cfg('topk', 0), 1, null, 10)).toMatchObject({ method: 'topk', finalAcc: NaN });
    expect(paretoRun(cfg('qsgd', 0, 15), 1, 0.7, 10)).toMatchObject({ method: 'qsgd', levels: 15 });
    const l0: ParetoRun[] = [0, 1, 2].map((seed) => ({ method: 'soft-l0', rho: 0.25, seed, finalAcc: 0.7 + 0.025 + 0.01 + 0.02 * seed - 0.03, bits: 2e5 })); // SOFT's accuracy less 3 points
    const pts = paretoPoints([...runs, ...l0]);
    expect(pts.map((p) => p.method).indexOf('soft-l0')).toBe(pts.map((p) => p.method).lastIndexOf('soft') + 1);
    const rows = pairedDifferences([...runs, ...l0]).filter((r) => r.baseline === 'soft-l0');
    expect(rows).toHaveLength(1);
    expect(rows[0].diff.mean).toBeCloseTo(0.03, 12);
    expect(formatPairedTable(rows)[2]).toMatch(/^\| SOFT, lambda 0 \| 0.25 \| 3 \|/);
  });

  it('the figure is an SVG with one legend entry per method and its caption', () => {
    const svg = paretoFigure(paretoPoints(runs), 'seeds 0, 1, 2; 5 rounds');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('SOFT');
    expect(svg).toContain('top-k');
    expect(svg).toContain('seeds 0, 1, 2; 5 rounds');
  });
});
