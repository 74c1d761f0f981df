/**
 * The report's figures, each a small spec: when it applies (else the reason it is hidden), its
 * caption, and its ECharts option over one or several runs. Rendering is `style.ts`'s.
 */
import { COMPRESSOR_NAMES } from '../../engine/compress';
import { getAt } from '../../engine/paths';
import { bitsToTarget, hasField, num, series, type ReportRun } from './load';
import { axis, baseOption, FONT, INK, pixelSize, renderSvg, runStyle, SIZES, type FigureSize } from './style';
import { meanInterval, type Interval } from './stats';

export interface FigureContext {
  /** Target test accuracy for "bits to reach" (fraction in 0..1), null when no run has an accuracy. */
  targetAcc: number | null;
  targetSource: string;
}

interface FigureSpec {
  id: string;
  title: string;
  /** Why the figure is hidden for these runs, or null when it is drawn. */
  missing(runs: ReportRun[], ctx: FigureContext): string | null;
  caption(runs: ReportRun[], ctx: FigureContext): string;
  option(runs: ReportRun[], ctx: FigureContext, size: FigureSize): Record<string, unknown>;
}

export interface Figure {
  id: string;
  title: string;
  caption: string;
  /** SVG per requested size. */
  svg: Partial<Record<FigureSize, string>>;
}

export interface HiddenFigure { id: string; title: string; reason: string }

/** At most ~2 `max` points per run: each bucket's lowest and highest point, in x order. */
export function thin(points: [number, number][], max = 400): [number, number][] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / max);
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i += stride) {
    const bucket = points.slice(i, i + stride);
    let lo = bucket[0], hi = bucket[0];
    for (const p of bucket) { if (p[1] < lo[1]) lo = p; if (p[1] > hi[1]) hi = p; }
    if (lo === hi) out.push(lo); else out.push(...(lo[0] < hi[0] ? [lo, hi] : [hi, lo]));
  }
  return out;
}

function line(run: ReportRun, i: number, data: [number, number][], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const s = runStyle(i);
  const pts = thin(data);
  return {
    type: 'line', name: run.label, data: pts, color: s.color, symbol: s.symbol, symbolSize: 4, showSymbol: pts.length <= 40,
    lineStyle: { width: 1.4, type: s.type, color: s.color }, itemStyle: { color: s.color }, ...extra,
  };
}

/** Rows the legend needs at this width (ECharts wraps a horizontal legend). */
function legendRows(labels: string[], size: FigureSize): number {
  const { fontPx } = SIZES[size];
  const width = pixelSize(size).width - 20;
  let rows = 1, x = 0;
  for (const l of labels) {
    const w = 18 + 5 + l.length * (fontPx - 1) * 0.56 + 8;
    if (x > 0 && x + w > width) { rows++; x = 0; }
    x += w;
  }
  return rows;
}

/** Base option with the legend naming each run and the plot area below it. */
function withRuns(runs: ReportRun[], size: FigureSize, rightAxis = false): Record<string, unknown> {
  const o = baseOption(size, true);
  const { fontPx } = SIZES[size];
  const labels = runs.map((r) => r.label);
  (o.legend as Record<string, unknown>).data = labels;
  const grid = o.grid as Record<string, number>;
  grid.top = legendRows(labels, size) * (fontPx + 6) + 8;
  if (rightAxis) grid.right = fontPx * 4 + 10;
  return o;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
function partial(runs: ReportRun[], field: string): string {
  const without = runs.filter((r) => !r.metrics.some((m) => num(m[field]) !== null));
  return without.length ? ` Not logged by ${without.map((r) => r.label).join(', ')}.` : '';
}
const noAcc = 'no run logged a test accuracy (simulate-only runs and runs stopped before their first evaluation have testAcc null)';

function accuracyVs(id: string, title: string, x: string, xAxisName: string, log: boolean): FigureSpec {
  return {
    id, title,
    missing: (runs) => (!hasField(runs, 'testAcc') ? noAcc : !hasField(runs, x) ? `no run logged ${x} (an older run format)` : null),
    caption: (runs) => `Test accuracy of the global model against ${xAxisName.replace(/ \(.*\)$/, '')}${log ? ' (log scale)' : ''}; a marker per evaluation.${partial(runs, 'testAcc')}`,
    option: (runs, _ctx, size) => ({
      ...withRuns(runs, size),
      xAxis: axis({ name: xAxisName, type: log ? 'log' : 'value', integer: x === 'round', min: x === 'round' ? 1 : undefined }, SIZES[size].fontPx, 'x'),
      yAxis: axis({ name: 'test accuracy (%)', percent: true }, SIZES[size].fontPx, 'y'),
      series: runs.map((r, i) => line(r, i, series(r, 'testAcc', x).filter(([xv]) => !log || xv > 0), { showSymbol: true })),
    }),
  };
}

function perRound(id: string, title: string, field: string, yName: string, caption: string, missing: string, log = false): FigureSpec {
  return {
    id, title,
    missing: (runs) => (hasField(runs, field) ? null : missing),
    caption: (runs) => caption + partial(runs, field),
    option: (runs, _ctx, size) => ({
      ...withRuns(runs, size),
      xAxis: axis({ name: 'round', integer: true, min: 1 }, SIZES[size].fontPx, 'x'),
      yAxis: axis({ name: yName, type: log ? 'log' : 'value' }, SIZES[size].fontPx, 'y'),
      series: runs.map((r, i) => line(r, i, series(r, field).filter(([, y]) => !log || y > 0))),
    }),
  };
}

const budgetOf = (r: ReportRun) => num(getAt(r.config, 'control.latencyBudgetS'));

const latency: FigureSpec = {
  id: 'latency', title: 'Round latency against the budget',
  missing: (runs) => (hasField(runs, 'roundTime') ? null : 'no run logged roundTime (an older run format)'),
  caption: (runs) => {
    const withBudget = runs.some((r) => budgetOf(r) !== null);
    return 'Simulated round time T_t (solid, left axis: the slowest sampled client\'s compute plus upload time)'
      + (withBudget ? '; the Lyapunov virtual queue Q_t after the round (dotted, right axis); the long-term latency budget (dashed).' : '. No run set control.latencyBudgetS, so no budget or queue is drawn.');
  },
  option: (runs, _ctx, size) => {
    const withBudget = runs.some((r) => budgetOf(r) !== null);
    const fontPx = SIZES[size].fontPx;
    const out: Record<string, unknown>[] = [];
    runs.forEach((r, i) => {
      const b = budgetOf(r);
      out.push(line(r, i, series(r, 'roundTime'), b === null ? {} : {
        markLine: { symbol: 'none', silent: true, label: { show: false }, lineStyle: { type: 'dashed', width: 1, color: runStyle(i).color }, data: [{ yAxis: b }] },
      }));
      if (withBudget && hasField([r], 'queue')) out.push(line(r, i, series(r, 'queue'), { yAxisIndex: 1, showSymbol: false, lineStyle: { width: 1, type: 'dotted', color: runStyle(i).color } }));
    });
    return {
      ...withRuns(runs, size, withBudget),
      xAxis: axis({ name: 'round', integer: true, min: 1 }, fontPx, 'x'),
      yAxis: [axis({ name: 'round time (s)' }, fontPx, 'y'), ...(withBudget ? [axis({ name: 'virtual queue Q (s)', position: 'right' }, fontPx, 'y')] : [])],
      series: out,
    };
  },
};

const rhoRank: FigureSpec = {
  id: 'rho-rank', title: 'Sparsification ratio and rank',
  missing: (runs) => (hasField(runs, 'rho') ? null : 'no run logged rho (runs from before the controllers existed)'),
  caption: (runs) => 'Sparsification ratio rho_t chosen each round (solid, left axis; the share of LoRA components or entries sent) and the LoRA rank r (dashed, right axis; '
    + runs.map((r) => `${r.label}: ${r.rank ?? 'unknown'}${num(getAt(r.config, 'lora.rank')) === null && r.rank !== null ? ' chosen offline' : ''}`).join(', ') + ').',
  option: (runs, _ctx, size) => {
    const fontPx = SIZES[size].fontPx;
    const out: Record<string, unknown>[] = [];
    runs.forEach((r, i) => {
      out.push(line(r, i, series(r, 'rho'), { step: 'end' }));
      const rounds = r.metrics.map((m) => m.round);
      if (r.rank !== null && rounds.length) out.push(line(r, i, [[rounds[0], r.rank], [rounds[rounds.length - 1], r.rank]], { yAxisIndex: 1, showSymbol: false, lineStyle: { width: 1, type: 'dashed', color: runStyle(i).color } }));
    });
    const maxRank = Math.max(1, ...runs.map((r) => r.rank ?? 1));
    return {
      ...withRuns(runs, size, true),
      xAxis: axis({ name: 'round', integer: true, min: 1 }, fontPx, 'x'),
      yAxis: [axis({ name: 'sparsification ratio ρ', min: 0, max: 1 }, fontPx, 'y'), axis({ name: 'LoRA rank r (components)', position: 'right', min: 0, max: Math.ceil(maxRank * 1.1), integer: true }, fontPx, 'y')],
      series: out,
    };
  },
};

const shareRange = (r: ReportRun, f: (xs: number[]) => number): [number, number][] =>
  r.metrics.filter((m) => Array.isArray(m.shares) && (m.shares as unknown[]).length > 0).map((m) => [m.round, f(m.shares as number[])]);

const shares: FigureSpec = {
  id: 'bandwidth-shares', title: 'Bandwidth shares',
  missing: (runs) => (runs.some((r) => shareRange(r, (xs) => Math.max(...xs)).length) ? null : 'no run logged bandwidth shares (an older run format)'),
  caption: (runs) => 'FDMA bandwidth shares of the sampled clients per round (fractions of W; shares align with clientIds): the largest share (solid) and the smallest (dotted); grey dashed: the equal split 1/S.'
    + ' Equal shares give one line at 1/S.' + (runs.some((r) => !shareRange(r, (xs) => Math.max(...xs)).length) ? ` Not logged by ${runs.filter((r) => !shareRange(r, (xs) => Math.max(...xs)).length).map((r) => r.label).join(', ')}.` : ''),
  option: (runs, _ctx, size) => {
    const fontPx = SIZES[size].fontPx;
    const out: Record<string, unknown>[] = [];
    runs.forEach((r, i) => {
      out.push(line(r, i, shareRange(r, (xs) => Math.max(...xs))));
      out.push(line(r, i, shareRange(r, (xs) => Math.min(...xs)), { showSymbol: false, lineStyle: { width: 1, type: 'dotted', color: runStyle(i).color } }));
    });
    const s = num(getAt(runs[0].config, 'federation.clientsPerRound'));
    if (s) out[0] = { ...out[0], markLine: { symbol: 'none', silent: true, label: { show: false }, lineStyle: { type: 'dashed', width: 1, color: '#999999' }, data: [{ yAxis: 1 / s }] } };
    return {
      ...withRuns(runs, size),
      xAxis: axis({ name: 'round', integer: true, min: 1 }, fontPx, 'x'),
      yAxis: axis({ name: 'bandwidth share (fraction of W)', min: 0 }, fontPx, 'y'),
      series: out,
    };
  },
};

const bitsTarget: FigureSpec = {
  id: 'bits-to-target', title: 'Uplink bits to reach the target accuracy',
  missing: (runs, ctx) => (ctx.targetAcc === null ? noAcc : !hasField(runs, 'cumUplinkBits') ? 'no run logged cumUplinkBits' : null),
  caption: (runs, ctx) => {
    const miss = runs.filter((r) => !bitsToTarget(r, ctx.targetAcc!));
    return `Cumulative uplink bits (all clients) until the test accuracy first reached ${pct(ctx.targetAcc!)} (${ctx.targetSource}); log scale.`
      + (miss.length ? ` Not reached: ${miss.map((r) => r.label).join(', ')}.` : '');
  },
  option: (runs, ctx, size) => {
    const fontPx = SIZES[size].fontPx;
    const labels = runs.map((r) => r.label);
    const labelPx = Math.min(pixelSize(size).width * 0.42, 8 + Math.max(...labels.map((l) => l.length)) * (fontPx - 1) * 0.56);
    const base = baseOption(size, false);
    const hits = runs.map((r) => bitsToTarget(r, ctx.targetAcc!));
    const reached = hits.filter((h) => h !== null).map((h) => h!.bits);
    const floor = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...(reached.length ? reached : [minBits(runs)])))));
    return {
      ...base,
      grid: { ...(base.grid as object), left: labelPx + 6, right: 60, top: 10 },
      yAxis: { ...axis({ name: '', type: 'category', data: labels }, fontPx, 'y'), inverse: true, axisLabel: { color: INK, fontSize: fontPx - 1, fontFamily: FONT, width: labelPx, overflow: 'truncate' }, splitLine: { show: false } },
      xAxis: axis({ name: `uplink to reach ${pct(ctx.targetAcc!)} (bit)`, type: 'log', min: floor }, fontPx, 'x'),
      series: [{
        type: 'bar', barMaxWidth: 14,
        data: hits.map((h, i) => (h ? { value: h.bits, itemStyle: { color: runStyle(i).color } } : { value: null })),
        label: { show: true, position: 'right', fontSize: fontPx - 2, fontFamily: FONT, color: INK, formatter: (p: { dataIndex: number }) => (hits[p.dataIndex] ? `round ${hits[p.dataIndex]!.round}` : 'not reached') },
      }, {
        // "not reached" markers sit at the axis start
        type: 'scatter', symbolSize: 0, data: hits.map((h, i) => (h ? null : [floor, i])),
        label: { show: true, position: 'right', fontSize: fontPx - 2, fontFamily: FONT, color: INK, formatter: 'not reached' },
      }],
    };
  },
};

function minBits(runs: ReportRun[]): number {
  const all = runs.flatMap((r) => series(r, 'cumUplinkBits').map(([, b]) => b)).filter((b) => b > 0);
  return all.length ? Math.min(...all) : 1;
}

const methodOf = (r: ReportRun) => String(getAt(r.config, 'compression.method') ?? 'none');
const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
/** Mean compress time per round (ms) and mean operations per client per round over runs of one method. */
export function compressCost(runs: ReportRun[], method: string): { ms: number | null; flops: number | null; runs: ReportRun[] } {
  const rs = runs.filter((r) => methodOf(r) === method && (hasField([r], 'compressMs') || r.metrics.some((m) => Array.isArray(m.clientFlops))));
  const ms = rs.flatMap((r) => series(r, 'compressMs').map(([, v]) => v));
  const flops = rs.flatMap((r) => r.metrics.flatMap((m) => (Array.isArray(m.clientFlops) ? (m.clientFlops as unknown[]).map(num).filter((v): v is number => v !== null) : [])));
  return { ms: meanOf(ms), flops: meanOf(flops), runs: rs };
}

/** Compressors with cost data among the runs, in registry order (SOFT against SVD is the method's claim). */
function costedMethods(runs: ReportRun[]): { name: string; cost: ReturnType<typeof compressCost> }[] {
  return COMPRESSOR_NAMES.map((name) => ({ name, cost: compressCost(runs, name) })).filter((m) => m.cost.runs.length > 0);
}

const compressionCost: FigureSpec = {
  id: 'compression-cost', title: 'Compression cost by method',
  missing: (runs) => {
    const ms = costedMethods(runs);
    if (ms.length < 2) return 'needs runs of at least two compression methods (e.g. soft and svd) logging compressMs or clientFlops';
    return ms.some((m) => m.cost.ms === null) ? 'some runs have no compressMs (an older run format)' : null;
  },
  caption: (runs) => 'Left: measured compression wall time per round (all sampled clients, on each run\'s own host and backend). Right: counted operations per client per round (FLOP, log scale; the count that feeds the simulated clock).'
    + ' ' + costedMethods(runs).map((m) => `${m.name}: ${m.cost.runs.map((r) => r.label).join(', ')}`).join('; ') + '.',
  option: (runs, _ctx, size) => {
    const fontPx = SIZES[size].fontPx;
    const ms = costedMethods(runs);
    const cats = ms.map((m) => m.name);
    const bar = (vals: (number | null)[], axisIdx: number) => ({
      type: 'bar', xAxisIndex: axisIdx, yAxisIndex: axisIdx, barMaxWidth: 28,
      data: vals.map((v, i) => ({ value: v, itemStyle: { color: runStyle(i).color } })),
      label: { show: true, position: 'top', fontSize: fontPx - 2, fontFamily: FONT, color: INK, formatter: (p: { value: number }) => (p.value >= 1e4 ? p.value.toExponential(1) : String(+p.value.toPrecision(3))) },
    });
    const base = baseOption(size, false);
    const g = base.grid as Record<string, number>;
    return {
      ...base,
      grid: [{ ...g, right: '56%', top: 20 }, { ...g, left: '58%', top: 20 }],
      xAxis: [0, 1].map((gi) => ({ ...axis({ name: 'compressor', type: 'category', data: cats, gridIndex: gi }, fontPx, 'x') })),
      yAxis: [axis({ name: 'compress time (ms/round)', min: 0, gridIndex: 0 }, fontPx, 'y'), axis({ name: 'operations (FLOP/client)', type: 'log', gridIndex: 1 }, fontPx, 'y')],
      series: [bar(ms.map((m) => m.cost.ms), 0), bar(ms.map((m) => m.cost.flops).map((v) => (v !== null && v > 0 ? v : null)), 1)],
    };
  },
};

export interface ParetoGroup { method: string; label: string; seeds: number; acc: Interval; bits: number }

/**
 * Configurations over seeds (runs whose configs differ only in seed and name), completed ones with an
 * accuracy: final accuracy (mean and 95% t-interval) and mean total uplink bits, by compression method.
 */
export function paretoGroups(runs: ReportRun[]): ParetoGroup[] {
  const groups = new Map<string, ReportRun[]>();
  for (const r of runs) {
    if (r.status !== 'completed') continue;
    const { seed: _s, name: _n, ...rest } = r.config as Record<string, unknown>;
    const key = JSON.stringify(rest, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: ParetoGroup[] = [];
  for (const rs of groups.values()) {
    const accs = rs.map((r) => [...r.metrics].reverse().map((m) => num(m.testAcc)).find((a) => a !== null) ?? null).filter((a): a is number => a !== null);
    if (accs.length !== rs.length) continue;
    const bits = rs.map((r) => r.metrics.reduce((a, m) => a + (num(m.uplinkBits) ?? 0), 0));
    const rho = num(getAt(rs[0].config, 'compression.rho'));
    out.push({ method: methodOf(rs[0]), label: `${methodOf(rs[0])}${rho !== null && methodOf(rs[0]) !== 'none' ? ` rho ${rho}` : ''}`, seeds: rs.length, acc: meanInterval(accs), bits: bits.reduce((a, b) => a + b, 0) / bits.length });
  }
  return out;
}

const pareto: FigureSpec = {
  id: 'pareto', title: 'Final accuracy against total uplink bits, over seeds',
  missing: (runs) => (!hasField(runs, 'testAcc') ? noAcc : paretoGroups(runs).length < 2 ? 'needs at least two completed configurations with an accuracy (e.g. several compressors or ratios)' : null),
  caption: (runs) => {
    const g = paretoGroups(runs);
    return `Final test accuracy against total uplink bits (log scale) of each configuration, a line per compression method; markers are the mean over a configuration's seeds (runs whose configs differ only in seed), bars the 95% t-interval of the mean (${Math.min(...g.map((x) => x.seeds))}-${Math.max(...g.map((x) => x.seeds))} seeds per point; no bar with one seed).`;
  },
  option: (runs, _ctx, size) => {
    const fontPx = SIZES[size].fontPx;
    const groups = paretoGroups(runs);
    const methods = [...new Set(groups.map((g) => g.method))];
    const series: Record<string, unknown>[] = [];
    methods.forEach((m, i) => {
      const st = runStyle(i);
      const ps = groups.filter((g) => g.method === m).sort((a, b) => a.bits - b.bits);
      series.push({ type: 'line', name: m, data: ps.map((p) => [p.bits, p.acc.mean]), symbol: st.symbol, symbolSize: 6, lineStyle: { color: st.color, type: st.type, width: 1.4 }, itemStyle: { color: st.color } });
      for (const p of ps) if (p.acc.half !== null) series.push({ type: 'line', name: m, data: [[p.bits, p.acc.mean - p.acc.half], [p.bits, p.acc.mean + p.acc.half]], symbol: 'none', lineStyle: { color: st.color, width: 1 }, silent: true });
    });
    const o = baseOption(size, true);
    (o.legend as Record<string, unknown>).data = methods;
    return { ...o, xAxis: axis({ name: 'total uplink (bit)', type: 'log' }, fontPx, 'x'), yAxis: axis({ name: 'final test accuracy (%)', percent: true }, fontPx, 'y'), series };
  },
};

/** Every figure in report order. */
export const FIGURES: FigureSpec[] = [
  accuracyVs('accuracy-round', 'Accuracy over rounds', 'round', 'round', false),
  accuracyVs('accuracy-bits', 'Accuracy against uplink bits', 'cumUplinkBits', 'cumulative uplink (bit)', true),
  accuracyVs('accuracy-time', 'Accuracy against simulated time', 'cumTime', 'simulated time (s)', false),
  perRound('train-loss', 'Training loss', 'trainLoss', 'training loss (nat)',
    'Mean local minibatch loss of the sampled clients (cross-entropy, plus the orthogonality penalty when soft.lambda > 0), weighted by shard size.', 'no run logged trainLoss (simulate-only runs train nothing)'),
  latency,
  rhoRank,
  shares,
  bitsTarget,
  compressionCost,
  pareto,
  perRound('sparsification-error', 'Sparsification error', 'sparsError', 'relative error ‖ΔW−ΔŴ‖/‖ΔW‖',
    'Convergence-bound term: mean over the sampled clients of ||dW - dW_hat||_F / ||dW||_F, the relative error of what was sent (error-feedback residual included); 0 for dense runs.', 'no run logged sparsError (simulate-only and older runs)'),
  perRound('covariance-norm', 'Covariance effect', 'covNorm', 'covariance ratio ‖C‖/‖Δ‖',
    'Convergence-bound term: ||C_t||_F / ||mean_k(A_k B_k) - A B||_F, the error of averaging A and B separately (FedIT) relative to the averaged product change; null for the SVD baseline.', 'no run logged covNorm (SVD runs aggregate products; simulate-only and older runs have none)'),
];

export const FIGURE_IDS = FIGURES.map((f) => f.id);

/** Draw every applicable figure in the requested sizes; list the hidden ones with the reason. */
export function buildFigures(runs: ReportRun[], ctx: FigureContext, sizes: FigureSize[]): { figures: Figure[]; hidden: HiddenFigure[] } {
  const figures: Figure[] = [];
  const hidden: HiddenFigure[] = [];
  for (const spec of FIGURES) {
    const reason = spec.missing(runs, ctx);
    if (reason) { hidden.push({ id: spec.id, title: spec.title, reason }); continue; }
    // every figure gets all runs, so a run keeps its colour and marker across figures
    const svg: Partial<Record<FigureSize, string>> = {};
    for (const size of sizes) svg[size] = renderSvg(spec.option(runs, ctx, size), size, `${spec.id}-${size}`);
    figures.push({ id: spec.id, title: spec.title, caption: spec.caption(runs, ctx), svg });
  }
  return { figures, hidden };
}

