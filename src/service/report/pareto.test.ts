import { describe, expect, it } from 'vitest';
import { buildFigures, paretoGroups } from './figures';
import type { ReportRun } from './load';

/** A completed run with the given compression, seed and final accuracy, two rounds of 1,000 bits each. */
function run(method: string, rho: number, seed: number, acc: number, status = 'completed'): ReportRun {
  return {
    id: `${method}-${rho}-${seed}`, dir: '/x', label: `${method} ${rho} s${seed}`, name: `${method} ${rho}`, seed, status: status as ReportRun['status'], error: null,
    config: { name: `${method} ${rho} seed ${seed}`, seed, compression: { method, rho }, federation: { rounds: 2 } }, meta: {}, summary: null,
    metrics: [{ round: 1, testAcc: null, uplinkBits: 1000 * rho }, { round: 2, testAcc: acc, uplinkBits: 1000 * rho }] as never, tornLastLine: false, rank: 8,
  } as ReportRun;
}

describe('report: Pareto figure over seeds', () => {
  const runs = [
    run('soft', 0.25, 0, 0.70), run('soft', 0.25, 1, 0.72), run('soft', 0.25, 2, 0.74),
    run('topk', 0.25, 0, 0.75), run('topk', 0.25, 1, 0.77), run('topk', 0.5, 0, 0.8),
    run('topk', 0.5, 1, 0.1, 'failed'),
  ];

  it('groups runs that differ only in seed and name: mean, 95% t-interval and total bits; failed runs left out', () => {
    const g = paretoGroups(runs);
    expect(g.map((x) => [x.label, x.seeds])).toEqual([['soft rho 0.25', 3], ['topk rho 0.25', 2], ['topk rho 0.5', 1]]);
    expect(g[0].acc.mean).toBeCloseTo(0.72, 12);
    expect(g[0].acc.half).toBeCloseTo(4.303 * 0.02 / Math.sqrt(3), 12);
    expect(g[0].bits).toBe(500);
    expect(g[2].acc.half).toBeNull();
  });

  it('is drawn with a line per method when there are two configurations, hidden with the reason otherwise', () => {
    const { figures } = buildFigures(runs, { targetAcc: null, targetSource: '' }, ['one']);
    const f = figures.find((x) => x.id === 'pareto')!;
    expect(f.caption).toMatch(/1-3 seeds per point/);
    expect(f.svg.one).toContain('topk');
    const { hidden } = buildFigures(runs.slice(0, 3), { targetAcc: null, targetSource: '' }, ['one']);
    expect(hidden.find((x) => x.id === 'pareto')?.reason).toMatch(/at least two completed configurations/);
  });
});
