/**
 * Per-class accuracy and the confusion matrix of each run at its last evaluated round (metrics.jsonl
 * `classAcc` and `confusion`): non-IID federated runs are judged by their worst classes.
 */
import type { ReportRun } from './load';

export interface ClassView {
  label: string;
  round: number;
  classAcc: (number | null)[];
  /** Rows = true class, columns = predicted; null when the run has more classes than were recorded. */
  confusion: number[][] | null;
  worst: { cls: number; acc: number } | null;
}

/** Largest matrix a report prints (classes); larger ones are left to metrics.jsonl. */
export const MAX_REPORT_CLASSES = 20;

export function classViews(runs: ReportRun[]): ClassView[] {
  const out: ClassView[] = [];
  for (const r of runs) {
    const row = [...r.metrics].reverse().find((m) => Array.isArray(m.classAcc));
    if (!row) continue;
    const classAcc = (row.classAcc as unknown[]).map((v) => (typeof v === 'number' ? v : null));
    const conf = Array.isArray(row.confusion) ? (row.confusion as number[][]) : null;
    let worst: ClassView['worst'] = null;
    classAcc.forEach((a, c) => { if (a !== null && (!worst || a < worst.acc)) worst = { cls: c, acc: a }; });
    out.push({ label: r.label, round: Number(row.round), classAcc, confusion: conf, worst });
  }
  return out;
}

const pct = (v: number | null) => (v === null ? 'n/a' : (100 * v).toFixed(1));

/** Header and rows of the per-class table: one row per run, one column per class, then the worst class. */
export function classTable(views: ClassView[]): { head: string[]; rows: string[][] } {
  const n = Math.max(0, ...views.map((v) => v.classAcc.length));
  return {
    head: ['run', 'round', ...Array.from({ length: n }, (_, c) => `class ${c}`), 'worst class'],
    rows: views.map((v) => [v.label, String(v.round), ...Array.from({ length: n }, (_, c) => pct(v.classAcc[c] ?? null)), v.worst ? `${v.worst.cls} (${pct(v.worst.acc)}%)` : 'n/a']),
  };
}

export function classMarkdown(views: ClassView[]): string[] {
  if (!views.length) return [];
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const row = (cs: string[]) => `| ${cs.map(cell).join(' | ')} |`;
  const { head, rows } = classTable(views);
  const out = ['## Per-class accuracy (%) at the last evaluated round', '', row(head), row(head.map((_, i) => (i ? '---:' : '---'))), ...rows.map(row), ''];
  for (const v of views) {
    if (!v.confusion) { out.push(`Confusion matrix of ${v.label}: not recorded (more classes than metrics.jsonl keeps).`, ''); continue; }
    if (v.confusion.length > MAX_REPORT_CLASSES) { out.push(`Confusion matrix of ${v.label}: ${v.confusion.length} classes, in metrics.jsonl (round ${v.round}).`, ''); continue; }
    out.push(`### Confusion matrix: ${v.label} (round ${v.round}; rows true class, columns predicted, counts)`, '',
      row(['true \\ pred', ...v.confusion.map((_, c) => String(c))]), row(['---', ...v.confusion.map(() => '---:')]),
      ...v.confusion.map((r, c) => row([String(c), ...r.map(String)])), '');
  }
  return out;
}
