/**
 * The controllers' latency-accuracy trade-off (`npm run replicate -- tradeoff`): for latency budgets
 * between the floor and the ideal round time, the mean round time and final accuracy of tsfa, of
 * fixed-opt at rho = 1, of the best fixed rho meeting the budget (searched over j / r on the clock,
 * which a fixed controller's training run reproduces exactly) and of ideal; and the V curve of tsfa
 * from the clock alone.
 */
import { renderSvg, baseOption, axis, runStyle, SIZES } from '../../src/service/report/style';
import { meanInterval, pct, type Interval } from './stats';

/** The largest ratio whose mean round time (fixed-opt, over the run's rounds) meets the budget; null if none. */
export function bestFixedRho(latencyByRho: Map<number, number>, budget: number): number | null {
  const ok = [...latencyByRho.entries()].filter(([, t]) => t <= budget).map(([rho]) => rho);
  return ok.length ? Math.max(...ok) : null;
}

/** One controller's outcome at one budget and seed. */
export interface TradeoffRun { budget: number; controller: string; seed: number; rho: number | null; latency: number; acc: number; bits: number }

export interface TradeoffRow { budget: number; controller: string; seeds: number; rhos: (number | null)[]; latency: Interval; ratio: Interval; acc: Interval; bits: number }

export const CONTROLLER_ORDER = ['tsfa', 'best fixed rho', 'fixed-opt rho = 1', 'ideal'];

export function tradeoffRows(runs: TradeoffRun[]): TradeoffRow[] {
  const groups = new Map<string, TradeoffRun[]>();
  for (const r of runs) groups.set(`${r.budget}|${r.controller}`, [...(groups.get(`${r.budget}|${r.controller}`) ?? []), r]);
  return [...groups.values()].map((rs) => ({
    budget: rs[0].budget, controller: rs[0].controller, seeds: rs.length, rhos: rs.map((r) => r.rho),
    latency: meanInterval(rs.map((r) => r.latency)), ratio: meanInterval(rs.map((r) => r.latency / r.budget)),
    acc: meanInterval(rs.map((r) => r.acc)), bits: rs.reduce((a, r) => a + r.bits, 0) / rs.length,
  })).sort((a, b) => a.budget - b.budget || CONTROLLER_ORDER.indexOf(a.controller) - CONTROLLER_ORDER.indexOf(b.controller));
}

const half = (iv: Interval, d = 3) => (iv.half === null ? '' : ` ± ${iv.half.toFixed(d)}`);

export function formatTradeoffTable(rows: TradeoffRow[]): string[] {
  return [
    '| budget (s) | controller | seeds | rho (per seed; tsfa: mean) | mean round time (s, ± 95% CI) | time / budget | final accuracy (%, ± 95% CI) | uplink Mbit |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.budget.toFixed(3)} | ${r.controller} | ${r.seeds} | ${r.rhos.map((x) => (x === null ? 'none meets' : x.toFixed(3))).join(', ')} | ${r.latency.mean.toFixed(3)}${half(r.latency)} | ${r.ratio.mean.toFixed(3)} | ${pct(r.acc)} | ${(r.bits / 1e6).toFixed(2)} |`),
  ];
}

/** Accuracy against mean round time: one series per controller, one point per budget. */
export function tradeoffFigure(rows: TradeoffRow[], caption: string): string {
  const size = 'two' as const;
  const { fontPx } = SIZES[size];
  const series = CONTROLLER_ORDER.filter((c) => rows.some((r) => r.controller === c)).map((c, i) => {
    const st = runStyle(i);
    const pts = rows.filter((r) => r.controller === c && Number.isFinite(r.acc.mean)).sort((a, b) => a.latency.mean - b.latency.mean);
    return { type: 'line', name: c, data: pts.map((r) => [r.latency.mean, 100 * r.acc.mean]), symbol: st.symbol, symbolSize: 7, lineStyle: { color: st.color, type: st.type, width: 1.2 }, itemStyle: { color: st.color } };
  });
  const opt: Record<string, any> = {
    ...baseOption(size, true),
    title: { text: caption, left: 'center', bottom: 0, textStyle: { fontSize: fontPx - 2, fontWeight: 'normal' } },
    xAxis: axis({ name: 'mean round time (s)' }, fontPx, 'x'),
    yAxis: axis({ name: 'final test accuracy (%)' }, fontPx, 'y'),
    series,
  };
  opt.grid = { ...opt.grid, bottom: fontPx * 4 + 14 };
  return renderSvg(opt, size, 'tradeoff');
}

export interface VPoint { V: number; meanRho: number; meanQueue: number; ratio: number }

/** tsfa's V curve: mean rho and latency / budget against V (log axis), mean queue on a second axis. */
export function vCurveFigure(points: VPoint[], caption: string): string {
  const size = 'two' as const;
  const { fontPx } = SIZES[size];
  const ser = (name: string, i: number, data: [number, number][], yAxisIndex = 0) => {
    const st = runStyle(i);
    return { type: 'line', name, yAxisIndex, data, symbol: st.symbol, symbolSize: 6, lineStyle: { color: st.color, type: st.type, width: 1.2 }, itemStyle: { color: st.color } };
  };
  const opt: Record<string, any> = {
    ...baseOption(size, true),
    title: { text: caption, left: 'center', bottom: 0, textStyle: { fontSize: fontPx - 2, fontWeight: 'normal' } },
    xAxis: axis({ name: 'V (s², log scale)', type: 'log' }, fontPx, 'x'),
    yAxis: [axis({ name: 'mean rho, latency / budget', min: 0 }, fontPx, 'y'), axis({ name: 'mean queue (s)', position: 'right', min: 0 }, fontPx, 'y')],
    series: [
      ser('mean rho', 0, points.map((p) => [p.V, p.meanRho])),
      ser('latency / budget', 1, points.map((p) => [p.V, p.ratio])),
      ser('mean queue (right)', 2, points.map((p) => [p.V, p.meanQueue]), 1),
    ],
  };
  opt.grid = { ...opt.grid, bottom: fontPx * 4 + 14, right: fontPx * 4 };
  return renderSvg(opt, size, 'vcurve');
}
