/** Tables of the replication suite: per method, mean +- std over seeds. */
import type { ExperimentConfig } from '../../src/engine/config';
import type { RunSummary } from '../../src/service/runs/runStore';

export interface MethodRun {
  method: string;
  dir: string;
  config: ExperimentConfig;
  summary: RunSummary;
  rows: Record<string, any>[];
}

export interface MethodSummary {
  method: string;
  seeds: number;
  completed: number;
  finalAcc: { mean: number; std: number };
  totalBits: number;
  bitsVsDense: number | null;
  meanRoundTime: number;
  totalTime: number;
  meanRho: number;
  /** Target accuracy: 95% of dense FedIT's mean final accuracy. */
  target: number | null;
  reached: number;
  bitsToTarget: number | null;
  timeToTarget: number | null;
}

export function meanStd(xs: number[]): { mean: number; std: number } {
  if (!xs.length) return { mean: NaN, std: NaN };
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) : 0;
  return { mean: m, std: Math.sqrt(v) };
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** First round reaching `target` accuracy: its cumulative bits and simulated time. */
export function toTarget(rows: Record<string, any>[], target: number): { bits: number; time: number } | null {
  const r = rows.find((x) => typeof x.testAcc === 'number' && x.testAcc >= target);
  return r ? { bits: r.cumUplinkBits, time: r.cumTime } : null;
}

export function summarizeMethods(runs: MethodRun[], targetShare = 0.95): MethodSummary[] {
  const byMethod = new Map<string, MethodRun[]>();
  for (const r of runs) byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), r]);
  const finalOf = (r: MethodRun) => r.summary.finalAcc;
  const dense = byMethod.get('dense')?.filter((r) => r.summary.status === 'completed') ?? [];
  const denseAcc = dense.length ? avg(dense.map((r) => finalOf(r) ?? NaN)) : NaN;
  const denseBits = dense.length ? avg(dense.map((r) => r.summary.totalUplinkBits)) : NaN;
  const target = Number.isFinite(denseAcc) ? targetShare * denseAcc : null;
  return [...byMethod.entries()].map(([method, rs]) => {
    const done = rs.filter((r) => r.summary.status === 'completed');
    const hits = target === null ? [] : done.map((r) => toTarget(r.rows, target)).filter((x): x is { bits: number; time: number } => x !== null);
    const totalBits = avg(done.map((r) => r.summary.totalUplinkBits));
    return {
      method, seeds: rs.length, completed: done.length,
      finalAcc: meanStd(done.map((r) => finalOf(r)).filter((a): a is number => typeof a === 'number')),
      totalBits,
      bitsVsDense: Number.isFinite(denseBits) ? totalBits / denseBits : null,
      meanRoundTime: avg(done.map((r) => r.summary.meanRoundTime)),
      totalTime: avg(done.map((r) => r.rows[r.rows.length - 1]?.cumTime ?? NaN)),
      meanRho: avg(done.flatMap((r) => r.rows.map((x) => (typeof x.rho === 'number' ? x.rho : 1)))),
      target, reached: hits.length,
      bitsToTarget: hits.length ? avg(hits.map((h) => h.bits)) : null,
      timeToTarget: hits.length ? avg(hits.map((h) => h.time)) : null,
    };
  });
}

const mb = (b: number | null) => (b === null || !Number.isFinite(b) ? 'n/a' : (b / 1e6).toFixed(2));

export function formatMethodsTable(ms: MethodSummary[]): string[] {
  const target = ms.find((m) => m.target !== null)?.target;
  return [
    '| method | seeds done | final accuracy (mean ± std) | uplink Mbit | bits vs dense | mean rho | mean round (s) | simulated time (s) | ' + (target ? `Mbit to ${(100 * target).toFixed(1)}%` : 'Mbit to target') + ' | s to target |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...ms.map((m) => `| ${m.method} | ${m.completed}/${m.seeds} | ${(100 * m.finalAcc.mean).toFixed(2)} ± ${(100 * m.finalAcc.std).toFixed(2)}% | ${mb(m.totalBits)} | ${m.bitsVsDense === null ? 'n/a' : (100 * m.bitsVsDense).toFixed(1) + '%'} | ${m.meanRho.toFixed(3)} | ${m.meanRoundTime.toFixed(3)} | ${m.totalTime.toFixed(2)} | ${mb(m.bitsToTarget)}${m.reached < m.completed ? ` (${m.reached}/${m.completed} reached)` : ''} | ${m.timeToTarget === null ? 'n/a' : m.timeToTarget.toFixed(2)} |`),
  ];
}
