/**
 * Reading run directories for a report: config.json, meta.json, metrics.jsonl (a torn last line is
 * skipped and noted) and summary.json. Missing optional pieces (older runs, runs still running)
 * become nulls and notes, never errors; a folder without config.json is not a run directory.
 */
import { upgradeConfig } from '../../engine/config';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RoundMetrics, RunStatus } from '../../contract/api';
import { files, readJson, readJsonOr, readMetrics, readSummary, type RunSummary } from '../runs/runStore';
import { getAt } from '../../engine/paths';

export class ReportInputError extends Error {}

export interface ReportRun {
  /** The folder's basename (the run id). */
  id: string;
  dir: string;
  /** Unique label among the report's runs (name, disambiguated by seed or id). */
  label: string;
  name: string;
  seed: number | null;
  status: RunStatus;
  error: string | null;
  config: Record<string, unknown>;
  meta: Record<string, unknown>;
  summary: RunSummary | null;
  metrics: RoundMetrics[];
  tornLastLine: boolean;
  /** The LoRA rank the run trained with: config.lora.rank, or the offline stage's choice. */
  rank: number | null;
}

export const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function isRunDir(dir: string): boolean {
  return fs.existsSync(files(dir).config);
}

export function loadRun(dir: string): ReportRun {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new ReportInputError(`${dir}: no such directory`);
  if (!isRunDir(abs)) throw new ReportInputError(`${dir}: not a run directory (no config.json)`);
  let config: Record<string, unknown>;
  try { config = obj(upgradeConfig(readJson(files(abs).config))); } catch (e) { throw new ReportInputError(`${files(abs).config}: not valid JSON (${(e as Error).message})`); }
  const meta = obj(readJsonOr(files(abs).meta, {}));
  const summary = readSummary(abs);
  const { rows, tornLastLine } = readMetrics<RoundMetrics>(abs);
  const rankCfg = num(getAt(config, 'lora.rank'));
  const seed = num(meta.seed) ?? num(config.seed);
  return {
    id: path.basename(abs),
    dir: abs,
    label: '',
    name: typeof meta.name === 'string' ? meta.name : typeof config.name === 'string' ? config.name : path.basename(abs),
    seed,
    status: summary?.status ?? (rows.length ? 'interrupted' : 'created'),
    error: typeof summary?.error === 'string' ? summary.error : null,
    config,
    meta,
    summary,
    metrics: rows.filter((r) => r && typeof r === 'object' && typeof r.round === 'number').sort((a, b) => a.round - b.round),
    tornLastLine,
    rank: rankCfg ?? num(obj(meta.offline).chosenRank),
  };
}

/** Labels that tell the runs apart: the name, then name + seed, then name + id. */
export function assignLabels(runs: ReportRun[]): void {
  const count = (f: (r: ReportRun) => string) => {
    const m = new Map<string, number>();
    for (const r of runs) m.set(f(r), (m.get(f(r)) ?? 0) + 1);
    return m;
  };
  const byName = count((r) => r.name);
  const withSeed = (r: ReportRun) => `${r.name} (seed ${r.seed ?? '?'})`;
  const bySeed = count(withSeed);
  for (const r of runs) {
    if (byName.get(r.name) === 1) r.label = r.name;
    else if (bySeed.get(withSeed(r)) === 1) r.label = withSeed(r);
    else r.label = `${r.name} (${r.id})`;
  }
}

export function loadRuns(dirs: string[]): ReportRun[] {
  if (!dirs.length) throw new ReportInputError('give at least one run directory');
  const runs = dirs.map(loadRun);
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.dir)) throw new ReportInputError(`${r.dir} is given twice`);
    seen.add(r.dir);
  }
  assignLabels(runs);
  return runs;
}

/** Numeric values of a field over the rounds (nulls and absent fields dropped). */
export function series(run: ReportRun, field: string, x: string = 'round'): [number, number][] {
  const out: [number, number][] = [];
  for (const r of run.metrics) {
    const xv = num(r[x]), yv = num(r[field]);
    if (xv !== null && yv !== null) out.push([xv, yv]);
  }
  return out;
}

export function hasField(runs: ReportRun[], field: string): boolean {
  return runs.some((r) => r.metrics.some((m) => num(m[field]) !== null));
}

/** The first round's cumulative uplink bits at which test accuracy reached `target`, or null. */
export function bitsToTarget(run: ReportRun, target: number): { bits: number; round: number } | null {
  for (const r of run.metrics) {
    const acc = num(r.testAcc), bits = num(r.cumUplinkBits);
    if (acc !== null && bits !== null && acc >= target - 1e-12) return { bits, round: r.round };
  }
  return null;
}
