import { describe, expect, it } from 'vitest';
import { bestFixedRho, formatTradeoffTable, tradeoffFigure, tradeoffRows, vCurveFigure, type TradeoffRun } from './tradeoff';

describe('controller trade-off tables', () => {
  it('the best fixed rho is the largest ratio whose mean round time meets the budget', () => {
    const t = new Map([[0.125, 2.6], [0.25, 2.7], [0.5, 2.9], [1, 3.1]]);
    expect(bestFixedRho(t, 3.0)).toBe(0.5);
    expect(bestFixedRho(t, 3.1)).toBe(1);
    expect(bestFixedRho(t, 2.5)).toBeNull();
  });

  it('rows: per budget and controller, over seeds, in a fixed controller order, latency / budget per seed', () => {
    const runs: TradeoffRun[] = [];
    for (const seed of [0, 1, 2]) {
      runs.push({ budget: 3, controller: 'ideal', seed, rho: 1, latency: 3.5, acc: 0.8, bits: 10 });
      runs.push({ budget: 3, controller: 'tsfa', seed, rho: 0.6 + 0.1 * seed, latency: 2.9 + 0.1 * seed, acc: 0.78, bits: 7 });
    }
    const rows = tradeoffRows(runs);
    expect(rows.map((r) => r.controller)).toEqual(['tsfa', 'ideal']);
    expect(rows[0].ratio.mean).toBeCloseTo(1, 12);
    expect(rows[0].latency.half).toBeCloseTo(4.303 * 0.1 / Math.sqrt(3), 12);
    const table = formatTradeoffTable(rows);
    expect(table[2]).toMatch(/^\| 3.000 \| tsfa \| 3 \| 0.600, 0.700, 0.800 \| 3.000 ± 0.248 \| 1.000 \| 78.00 ± 0.00 \|/);
    expect(tradeoffFigure(rows, 'cap')).toContain('tsfa');
    expect(vCurveFigure([{ V: 1, meanRho: 0.7, meanQueue: 0.8, ratio: 0.94 }, { V: 10, meanRho: 0.9, meanQueue: 1.2, ratio: 0.97 }], 'v')).toContain('latency / budget');
  });
});
