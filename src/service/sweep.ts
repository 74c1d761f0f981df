/**
 * Sweeps: a grid of config overrides expanded into runs that share data partitions and channel
 * draws per seed (both depend on the seed only), executed by N worker processes, resumable.
 *
 * Grid file: { "name": "...", "base": "<config file relative to the grid>" | { ...config },
 *   "grid": { "<dotted.path>": [values...] }, "variants": [{ "label": "...", "set": { "<dotted.path>": value } }] }
 * Runs = variants x cartesian product of the grid, in a fixed order; run ids are their index and
 * label, so a second invocation finds the runs of the first (completed ones are skipped, others
 * resumed from their checkpoints).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigIssue, ExperimentConfig } from '../engine/config';
import { pathProblem, setAt } from '../engine/paths';
import { writeJsonAtomic } from './runs/fsutil';
import { createRunDir, files, readJson, type RunSummary } from './runs/runStore';
import { validateRunConfig } from './validate';
import { ApiError, type Preset, type RunListItem, type SweepInfo } from '../contract/api';

export interface SweepSpec {
  name?: string;
  base?: string | Record<string, unknown>;
  grid?: Record<string, unknown[]>;
  variants?: { label: string; set: Record<string, unknown> }[];
}

export interface PlannedRun { id: string; label: string; overrides: Record<string, unknown>; config: ExperimentConfig }

export class SweepError extends Error { constructor(readonly issues: ConfigIssue[]) { super(issues.map((i) => `${i.path}: ${i.message}`).join('\n')); } }

function slug(v: unknown): string { return String(typeof v === 'object' ? JSON.stringify(v) : v).replace(/[^A-Za-z0-9.]+/g, '_').slice(0, 24); }

/** Most runs one sweep may expand to (checked before expanding). */
export const MAX_SWEEP_RUNS = 1000;

/** Expand and validate every run of a sweep; throws SweepError naming the run and field. */
export function planSweep(spec: SweepSpec, specDir: string): PlannedRun[] {
  if (!spec || typeof spec !== 'object') throw new SweepError([{ path: '(sweep)', message: 'must be a JSON object with "base", "grid" and/or "variants"' }]);
  let base: Record<string, unknown> = {};
  let baseDir = specDir;
  if (typeof spec.base === 'string') {
    const f = path.resolve(specDir, spec.base);
    if (!fs.existsSync(f)) throw new SweepError([{ path: 'base', message: `no such config file ${f}` }]);
    base = JSON.parse(fs.readFileSync(f, 'utf8'));
    baseDir = path.dirname(f);
  } else if (spec.base) base = spec.base;
  const grid = Object.entries(spec.grid ?? {});
  const variants = spec.variants?.length ? spec.variants : [{ label: '', set: {} }];
  const keyIssues: ConfigIssue[] = [];
  for (const [k, vs] of grid) {
    const problem = pathProblem(k);
    if (problem) keyIssues.push({ path: `grid[${JSON.stringify(k.slice(0, 60))}]`, message: problem });
    else if (!Array.isArray(vs) || vs.length === 0) keyIssues.push({ path: `grid.${k}`, message: 'must be a non-empty array of values' });
  }
  variants.forEach((v, i) => {
    if (!v || typeof v !== 'object' || (v.set !== undefined && (!v.set || typeof v.set !== 'object' || Array.isArray(v.set)))) { keyIssues.push({ path: `variants[${i}]`, message: 'must be {"label": "...", "set": {"<dotted.path>": value}}' }); return; }
    for (const k of Object.keys(v.set ?? {})) {
      const problem = pathProblem(k);
      if (problem) keyIssues.push({ path: `variants[${i}].set[${JSON.stringify(k.slice(0, 60))}]`, message: problem });
    }
  });
  if (keyIssues.length) throw new SweepError(keyIssues);
  const count = grid.reduce((n, [, vs]) => n * (vs as unknown[]).length, variants.length);
  if (count > MAX_SWEEP_RUNS) throw new SweepError([{ path: 'grid', message: `${count > 1e12 ? 'more than 10^12' : count} runs (variants x grid values); at most ${MAX_SWEEP_RUNS} per sweep` }]);
  let combos: Record<string, unknown>[] = [{}];
  for (const [k, vs] of grid) combos = combos.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  const runs: PlannedRun[] = [];
  const issues: ConfigIssue[] = [];
  for (const v of variants) {
    for (const combo of combos) {
      const overrides = { ...v.set, ...combo };
      const label = [v.label, ...Object.entries(combo).map(([k, x]) => `${k.split('.').pop()}=${slug(x)}`)].filter(Boolean).join(' ');
      let input = structuredClone(base);
      for (const [k, x] of Object.entries(overrides)) input = setAt(input, k, x);
      input.name = `${spec.name ?? 'sweep'} ${label}`.trim();
      const r = validateRunConfig(input, baseDir);
      const id = `r${String(runs.length).padStart(3, '0')}-${label.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'run'}`;
      if (!r.ok) { for (const i of r.issues) issues.push({ path: `run ${id}: ${i.path}`, message: i.message }); continue; }
      runs.push({ id, label: label || 'base', overrides, config: r.config });
    }
  }
  if (issues.length) throw new SweepError(issues);
  return runs;
}

/** Create (or find) the sweep folder and its run directories; returns each run's dir and status. */
export function materializeSweep(outDir: string, spec: SweepSpec, runs: PlannedRun[], versions: Record<string, string>, cores: number): { dir: string; run: PlannedRun; status: RunSummary['status'] | 'created' }[] {
  fs.mkdirSync(outDir, { recursive: true });
  const planFile = path.join(outDir, 'sweep.json');
  if (fs.existsSync(planFile)) {
    const old = readJson<{ runs: { id: string }[] }>(planFile);
    const same = old.runs.length === runs.length && old.runs.every((r, i) => r.id === runs[i].id);
    if (!same) throw new SweepError([{ path: '--out', message: `${outDir} holds a different sweep (its sweep.json lists other runs); use another --out` }]);
  } else {
    writeJsonAtomic(planFile, { spec, createdAt: new Date().toISOString(), runs: runs.map((r) => ({ id: r.id, label: r.label, overrides: r.overrides })) });
  }
  return runs.map((run) => {
    const dir = path.join(outDir, run.id);
    if (!fs.existsSync(files(dir).config)) {
      if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true }); // a creation cut short
      createRunDir(outDir, run.config, versions, cores, run.id);
      return { dir, run, status: 'created' as const };
    }
    const status = fs.existsSync(files(dir).summary) ? readJson<RunSummary>(files(dir).summary).status : 'created';
    return { dir, run, status };
  });
}

/**
 * A sweep submitted through the API (`sweeps.create`): its tag and planned runs, all validated
 * before any is created. `base` may name a preset. Errors are ApiErrors naming the field.
 */
export function prepareSweep(spec: unknown, presets: Preset[], baseDir: string): { tag: string; planned: PlannedRun[] } {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new ApiError('invalid-request', 'sweeps.create: spec must be an object with "name", "base", "grid" and/or "variants"');
  const s = { ...(spec as SweepSpec) };
  const name = typeof s.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/.test(s.name) ? s.name : null;
  if (!name) throw new ApiError('invalid-request', 'sweeps.create: spec.name must be 1-41 letters, digits, dot, dash or underscore (it tags the runs)');
  if (typeof s.base === 'string') {
    const preset = presets.find((p) => p.id === s.base);
    if (!preset) throw new ApiError('invalid-request', `sweeps.create: base "${s.base}" is not a preset (${presets.map((p) => p.id).join(', ')}); give a preset id or a config object`);
    s.base = preset.config;
  }
  try {
    return { tag: `sweep:${name}`, planned: planSweep(s, baseDir) };
  } catch (e) {
    if (e instanceof SweepError) throw new ApiError('invalid-config', e.message, e.issues);
    throw e;
  }
}

/** Sweeps by tag (`sweep:<name>`), with their runs' statuses, runs in creation order. */
export function sweepInfos(runs: RunListItem[]): SweepInfo[] {
  const by = new Map<string, RunListItem[]>();
  for (const r of runs) for (const t of r.tags) if (t.startsWith('sweep:')) by.set(t, [...(by.get(t) ?? []), r]);
  return [...by.entries()].map(([tag, rs]) => {
    const ordered = [...rs].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    const counts: SweepInfo['counts'] = {};
    for (const r of rs) counts[r.status] = (counts[r.status] ?? 0) + 1;
    return { name: tag.slice('sweep:'.length), tag, total: rs.length, counts, runIds: ordered.map((r) => r.id) };
  }).sort((a, b) => a.name.localeCompare(b.name));
}
