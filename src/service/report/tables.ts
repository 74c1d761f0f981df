/**
 * The numbers a report states: one summary row per run (recomputed from metrics.jsonl, the status
 * from summary.json), seed groups (runs whose configs differ only in seed and name) with
 * mean ± sample standard deviation, and the configs flattened to dotted paths for the side-by-side view.
 */
import { summarize } from '../runs/runStore';
import { getAt } from '../../engine/paths';
import { bitsToTarget, num, type ReportRun } from './load';

export interface SummaryRow {
  label: string;
  id: string;
  status: string;
  seed: number | null;
  method: string;
  controller: string;
  rank: number | null;
  roundsDone: number;
  rounds: number | null;
  finalAcc: number | null;
  bestAcc: number | null;
  totalUplinkBits: number;
  meanRoundTime: number;
  /** Simulated seconds at the last round (cumTime). */
  simTime: number | null;
  bitsToTarget: number | null;
  backend: string;
}

export function backendName(meta: Record<string, unknown>): string {
  const b = meta.backend;
  if (typeof b === 'string') return b;
  if (b && typeof b === 'object') return String((b as Record<string, unknown>).name ?? (b as Record<string, unknown>).requested ?? '?');
  return '?';
}

export function summaryRow(r: ReportRun, targetAcc: number | null): SummaryRow {
  const s = summarize(r.metrics.map((m) => ({ round: m.round, testAcc: num(m.testAcc), uplinkBits: num(m.uplinkBits) ?? 0, roundTime: num(m.roundTime) ?? 0 })), r.status, null);
  const last = r.metrics[r.metrics.length - 1];
  return {
    label: r.label, id: r.id, status: r.status, seed: r.seed,
    method: String(getAt(r.config, 'compression.method') ?? 'none'), controller: String(getAt(r.config, 'control.method') ?? 'fixed'), rank: r.rank,
    roundsDone: s.rounds, rounds: num(getAt(r.config, 'federation.rounds')),
    finalAcc: s.finalAcc, bestAcc: s.bestAcc, totalUplinkBits: s.totalUplinkBits, meanRoundTime: s.meanRoundTime,
    simTime: last ? num(last.cumTime) : null,
    bitsToTarget: targetAcc === null ? null : bitsToTarget(r, targetAcc)?.bits ?? null,
    backend: r.summary?.backend ?? backendName(r.meta),
  };
}

export interface Stat { mean: number; std: number; n: number }
export function stat(xs: (number | null)[]): Stat | null {
  const v = xs.filter((x): x is number => x !== null);
  if (!v.length) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, n: v.length };
}

export interface SeedGroup {
  label: string;
  runs: SummaryRow[];
  /** Only completed runs enter the statistics. */
  completed: number;
  seeds: (number | null)[];
  finalAcc: Stat | null;
  bestAcc: Stat | null;
  totalUplinkBits: Stat | null;
  meanRoundTime: Stat | null;
  bitsToTarget: Stat | null;
}

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function commonName(names: string[]): string {
  let p = names[0];
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  p = p.replace(/[-_ .(#]+$/, '');
  return p.length >= 2 ? p : names[0];
}

/** Runs grouped by config minus seed and name, in first-appearance order. */
export function seedGroups(runs: ReportRun[], rows: SummaryRow[]): SeedGroup[] {
  const groups = new Map<string, number[]>();
  runs.forEach((r, i) => {
    const { seed: _s, name: _n, ...rest } = r.config;
    const key = sortedJson(rest);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  return [...groups.values()].map((idx) => {
    const members = idx.map((i) => rows[i]);
    const done = members.filter((m) => m.status === 'completed');
    return {
      label: members.length > 1 ? commonName(members.map((m) => m.label)) : members[0].label,
      runs: members, completed: done.length, seeds: members.map((m) => m.seed),
      finalAcc: stat(done.map((m) => m.finalAcc)), bestAcc: stat(done.map((m) => m.bestAcc)),
      totalUplinkBits: stat(done.map((m) => m.totalUplinkBits)), meanRoundTime: stat(done.map((m) => m.meanRoundTime)),
      bitsToTarget: stat(done.map((m) => m.bitsToTarget)),
    };
  });
}

/** Config leaves as dotted paths (arrays kept whole, as JSON). */
export function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return out;
}

export interface ConfigRow { path: string; values: (string | null)[]; differs: boolean }

/** Every config path of any run, with each run's value; `differs` when not all runs agree. */
export function configTable(runs: ReportRun[]): ConfigRow[] {
  const flat = runs.map((r) => flatten(r.config));
  const paths: string[] = [];
  for (const f of flat) for (const p of f.keys()) if (!paths.includes(p)) paths.push(p);
  return paths.map((p) => {
    const values = flat.map((f) => f.get(p) ?? null);
    return { path: p, values, differs: new Set(values).size > 1 };
  });
}

// ---- number formats shared by html, md and tex ----
export const fmtPct = (v: number | null) => (v === null ? '–' : (v * 100).toFixed(2));
export const fmtMbit = (v: number | null) => (v === null ? '–' : (v / 1e6).toFixed(3));
export const fmtSec = (v: number | null) => (v === null ? '–' : v.toFixed(3));
export function fmtStat(s: Stat | null, f: (v: number) => string): string {
  if (!s) return '–';
  return s.n > 1 ? `${f(s.mean)} ± ${f(s.std)}` : f(s.mean);
}
