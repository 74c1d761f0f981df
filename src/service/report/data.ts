/**
 * Per-round metrics as CSV and JSON: one file per run and combined files. CSV numbers are written
 * with JavaScript's shortest round-trip form, so parsing a cell gives back the exact number of
 * metrics.jsonl; arrays and objects are JSON in one quoted cell; null is an empty cell.
 * The long file has one row per (run, round, metric[, client]) with per-client arrays expanded.
 */
import type { ReportRun } from './load';

/** Arrays of one value per client, in clientIds order (README "Run directory"). */
export const PER_CLIENT = ['clientBits', 'clientSamples', 'clientComputeTime', 'gains', 'shares', 'rates', 'clientFlops'];

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvLine = (cells: unknown[]) => cells.map(csvCell).join(',') + '\r\n';

function columns(runs: ReportRun[]): string[] {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const r of runs) for (const m of r.metrics) for (const k of Object.keys(m)) if (!seen.has(k)) { seen.add(k); cols.push(k); }
  return cols;
}

export function runCsv(run: ReportRun): string {
  const cols = columns([run]);
  return csvLine(cols) + run.metrics.map((m) => csvLine(cols.map((c) => m[c]))).join('');
}

/** All runs stacked: run_id and run_label first, then the union of the runs' fields. */
export function combinedCsv(runs: ReportRun[]): string {
  const cols = columns(runs);
  let out = csvLine(['run_id', 'run_label', ...cols]);
  for (const r of runs) for (const m of r.metrics) out += csvLine([r.id, r.label, ...cols.map((c) => m[c])]);
  return out;
}

/** Tidy long format: run_id, round, metric, client (per-client arrays expanded), value. */
export function longCsv(runs: ReportRun[]): string {
  let out = csvLine(['run_id', 'round', 'metric', 'client', 'value']);
  for (const r of runs) {
    for (const m of r.metrics) {
      const ids = Array.isArray(m.clientIds) ? m.clientIds : [];
      for (const [k, v] of Object.entries(m)) {
        if (k === 'round' || k === 'clientIds') continue;
        if (PER_CLIENT.includes(k) && Array.isArray(v) && v.length === ids.length) {
          v.forEach((x, i) => { out += csvLine([r.id, m.round, k, ids[i], x]); });
        } else {
          out += csvLine([r.id, m.round, k, null, v]);
        }
      }
    }
  }
  return out;
}

export function runJson(run: ReportRun): Record<string, unknown> {
  return {
    run: { id: run.id, label: run.label, name: run.name, seed: run.seed, status: run.status, error: run.error, dir: run.dir, tornLastLine: run.tornLastLine },
    config: run.config, meta: run.meta, summary: run.summary, metrics: run.metrics,
  };
}

export function combinedJson(runs: ReportRun[], generatedAt: string): string {
  return JSON.stringify({ generatedAt, runs: runs.map(runJson) }, null, 1) + '\n';
}
