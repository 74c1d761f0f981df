/**
 * Pareto fronts of the compressors (`npm run replicate -- pareto`): final accuracy against total
 * uplink bits at several ratios, per seed on identical partitions, sampling and channel draws, with
 * a 95% interval over seeds and the paired differences SOFT minus each baseline.
 */
import { renderSvg, baseOption, axis, runStyle, SIZES } from '../../src/service/report/style';
import { meanInterval, pairedInterval, pct, type Interval } from './stats';

export const PARETO_METHODS = ['soft', 'topk', 'randk', 'svd'] as const;
export const PARETO_RHOS = [0.125, 0.25, 0.5, 1] as const;
/** QSGD has no ratio: its knob is the number of levels s (an entry costs 1 + ceil(log2(s + 1)) bits: 2, 3, 5, 9). */
export const PARETO_QSGD_LEVELS = [1, 3, 15, 255] as const;
export const METHOD_LABEL: Record<string, string> = { soft: 'SOFT', 'soft-l0': 'SOFT, lambda 0', topk: 'top-k', randk: 'random-k', svd: 'SVD truncation', qsgd: 'QSGD' };
const METHOD_ORDER = ['soft', 'soft-l0', ...PARETO_METHODS.slice(1), 'qsgd'];

/** One finished run of the front; `levels` for QSGD (its rho is not a knob). */
export interface ParetoRun { method: string; rho: number; seed: number; finalAcc: number; bits: number; levels?: number }

export interface ParetoPoint { method: string; rho: number; levels?: number; acc: Interval; bits: number; seeds: number[] }

/**
 * The sweep of one seed: every method at every ratio, the same base (hence the same partition,
 * sampling, batches and channel). SOFT gets its orthogonality regulariser; the others train plain LoRA.
 */
export function paretoSweep(base: Record<string, unknown>, seed: number, softLambda = 0.01): Record<string, unknown> {
  return {
    name: `pareto-seed${seed}`,
    base: { ...base, seed },
    grid: { 'compression.rho': [...PARETO_RHOS] },
    variants: PARETO_METHODS.map((m) => ({ label: m, set: { 'compression.method': m, 'soft.lambda': m === 'soft' ? softLambda : 0 } })),
  };
}

/**
 * QSGD's sweep of one seed: every level count on the same base as the others (same partition,
 * sampling, batches and channel), plain LoRA.
 */
export function paretoQsgdSweep(base: Record<string, unknown>, seed: number): Record<string, unknown> {
  return {
    name: `pareto-qsgd-seed${seed}`,
    base: { ...base, seed, compression: { ...(base.compression as object ?? {}), method: 'qsgd' }, soft: { ...(base.soft as object ?? {}), lambda: 0 } },
    grid: { 'compression.levels': [...PARETO_QSGD_LEVELS] },
  };
}

/**
 * SOFT without its orthogonality regulariser (lambda 0), one sweep per seed on the same base: the
 * paired difference SOFT minus this series is what the regulariser buys at each ratio.
 */
export function paretoSoftL0Sweep(base: Record<string, unknown>, seed: number): Record<string, unknown> {
  return {
    name: `pareto-soft0-seed${seed}`,
    base: { ...base, seed, compression: { ...(base.compression as object ?? {}), method: 'soft' }, soft: { ...(base.soft as object ?? {}), lambda: 0 } },
    grid: { 'compression.rho': [...PARETO_RHOS] },
  };
}

/** A finished run as a point of the front: SOFT at lambda 0 is its own series ('soft-l0'), QSGD's knob is its levels. */
export function paretoRun(config: { compression: { method: string; rho: number; levels?: number }; soft: { lambda: number } }, seed: number, finalAcc: number | null, bits: number): ParetoRun {
  const m = config.compression.method;
  return {
    method: m === 'soft' && config.soft.lambda === 0 ? 'soft-l0' : m, rho: config.compression.rho, seed, finalAcc: finalAcc ?? NaN, bits,
    ...(m === 'qsgd' ? { levels: config.compression.levels } : {}),
  };
}

const key = (r: ParetoRun) => (r.levels === undefined ? `${r.method}@${r.rho}` : `${r.method}#${r.levels}`);
const knob = (p: { rho: number; levels?: number }) => p.levels ?? p.rho;

export function paretoPoints(runs: ParetoRun[]): ParetoPoint[] {
  const groups = new Map<string, ParetoRun[]>();
  for (const r of runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()].map((rs) => ({
    method: rs[0].method, rho: rs[0].rho, ...(rs[0].levels !== undefined ? { levels: rs[0].levels } : {}),
    acc: meanInterval(rs.map((r) => r.finalAcc)),
    bits: rs.reduce((a, r) => a + r.bits, 0) / rs.length,
    seeds: rs.map((r) => r.seed).sort((a, b) => a - b),
  })).sort((a, b) => METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method) || knob(a) - knob(b));
}

export interface PairedRow { baseline: string; rho: number; diff: ReturnType<typeof pairedInterval>; bitsRatio: number }

/** SOFT minus each baseline at the same ratio, paired by seed (QSGD, which has no ratio, is not paired). */
export function pairedDifferences(allRuns: ParetoRun[], reference = 'soft'): PairedRow[] {
  const runs = allRuns.filter((r) => r.levels === undefined);
  const acc = (m: string, rho: number) => new Map(runs.filter((r) => r.method === m && r.rho === rho).map((r) => [r.seed, r.finalAcc]));
  const bits = (m: string, rho: number) => { const b = runs.filter((r) => r.method === m && r.rho === rho).map((r) => r.bits); return b.reduce((x, y) => x + y, 0) / b.length; };
  const out: PairedRow[] = [];
  for (const m of [...new Set(runs.map((r) => r.method))].filter((x) => x !== reference)) {
    for (const rho of [...new Set(runs.map((r) => r.rho))].sort((a, b) => a - b)) {
      const diff = pairedInterval(acc(reference, rho), acc(m, rho));
      if (diff.n) out.push({ baseline: m, rho, diff, bitsRatio: bits(reference, rho) / bits(m, rho) });
    }
  }
  return out;
}

/** Where the 95% interval of the paired difference lies: above 0, below 0, or across it. */
export function verdict(iv: Interval): 'SOFT better' | 'SOFT worse' | 'no clear difference' | 'one seed' {
  if (iv.half === null) return 'one seed';
  if (iv.mean - iv.half > 0) return 'SOFT better';
  if (iv.mean + iv.half < 0) return 'SOFT worse';
  return 'no clear difference';
}

export function formatParetoTable(points: ParetoPoint[]): string[] {
  return [
    '| method | rho (QSGD: levels s) | seeds | final accuracy (mean ± 95% CI, %) | sd (points) | uplink Mbit (total) |',
    '|---|---|---|---|---|---|',
    ...points.map((p) => `| ${METHOD_LABEL[p.method] ?? p.method} | ${p.levels !== undefined ? `s = ${p.levels}` : p.rho} | ${p.seeds.length} | ${pct(p.acc)} | ${(100 * p.acc.sd).toFixed(2)} | ${(p.bits / 1e6).toFixed(3)} |`),
  ];
}

export function formatPairedTable(rows: PairedRow[]): string[] {
  return [
    '| SOFT minus | rho | paired seeds | accuracy difference (points, mean ± 95% CI) | SOFT bits / baseline bits | verdict |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${METHOD_LABEL[r.baseline] ?? r.baseline} | ${r.rho} | ${r.diff.n} | ${r.diff.mean >= 0 ? '+' : ''}${pct(r.diff)} | ${r.bitsRatio.toFixed(3)} | ${verdict(r.diff)} |`),
  ];
}

/** Accuracy against total uplink bits (log axis), one line per method, 95% intervals as error bars. */
export function paretoFigure(points: ParetoPoint[], caption: string): string {
  const size = 'two' as const;
  const methods = [...new Set(points.map((p) => p.method))];
  const series: Record<string, unknown>[] = [];
  methods.forEach((m, i) => {
    const st = runStyle(i);
    const ps = points.filter((p) => p.method === m).sort((a, b) => a.bits - b.bits);
    series.push({ type: 'line', name: METHOD_LABEL[m] ?? m, data: ps.map((p) => [p.bits, 100 * p.acc.mean]), symbol: st.symbol, symbolSize: 6, lineStyle: { color: st.color, type: st.type, width: 1.4 }, itemStyle: { color: st.color } });
    // error bars: a vertical segment per point (the 95% interval of the mean over seeds)
    for (const p of ps) {
      if (p.acc.half === null) continue;
      series.push({ type: 'line', name: METHOD_LABEL[m] ?? m, data: [[p.bits, 100 * (p.acc.mean - p.acc.half)], [p.bits, 100 * (p.acc.mean + p.acc.half)]], symbol: 'none', lineStyle: { color: st.color, width: 1 }, silent: true });
    }
  });
  const { fontPx } = SIZES[size];
  const opt: Record<string, any> = {
    ...baseOption(size, true),
    title: { text: caption, left: 'center', bottom: 0, textStyle: { fontSize: fontPx - 2, fontWeight: 'normal' } },
    xAxis: axis({ name: 'total uplink bits (log scale)', type: 'log' }, fontPx, 'x'),
    yAxis: axis({ name: 'final test accuracy (%)' }, fontPx, 'y'),
    series,
  };
  opt.grid = { ...opt.grid, bottom: fontPx * 4 + 14 };
  return renderSvg(opt, size, 'pareto');
}
