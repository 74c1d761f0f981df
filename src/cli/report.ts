/**
 * `fedlora report <runDir>... [--format html,pdf,svg,png,csv,json,tex,md] [--out dir]
 *  [--target-acc X] [--dpi N] [--size one,two]`: figures, tables and a self-contained report of
 * one run or a comparison (docs/reports.md). Prints each written file on stdout, the output folder
 * last. Exit 0 all written, 1 a format could not be produced (e.g. pdf without Chromium; the
 * others are still written), 2 bad input (not a run directory, unknown format, bad option).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { exportReport, parseFormats, ReportInputError } from '../service/report/index';
import type { FigureSize } from '../service/report/style';

export const REPORT_USAGE = `usage: fedlora report <runDir>... [--format html,pdf,svg,png,csv,json,tex,md] [--out <dir>]
                      [--target-acc X] [--dpi N] [--size one,two]
  --format      comma list (default html)
  --out         output folder (default <runDir>/report for one run, reports/compare-<time> for several)
  --target-acc  target test accuracy for "bits to reach", a fraction (0.8) or a percentage (80%);
                default the lowest final accuracy among the runs
  --dpi         PNG resolution (default 300)
  --size        figure width for svg/png: one (3.5 in column) and/or two (7 in page width); default one`;

class ReportUsageError extends Error {}

function targetAcc(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const pct = v.trim().endsWith('%');
  const n = Number(pct ? v.trim().slice(0, -1) : v);
  const x = pct ? n / 100 : n;
  if (!Number.isFinite(x) || x <= 0 || x > 1) throw new ReportUsageError(`--target-acc: must be a fraction in (0, 1] or a percentage like 80%, got "${v}"`);
  return x;
}

function sizes(v: string | undefined): FigureSize[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.length || list.some((s) => s !== 'one' && s !== 'two')) throw new ReportUsageError(`--size: one, two or one,two; got "${v}"`);
  return list as FigureSize[];
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

export async function reportCommand(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: { format: { type: 'string' }, out: { type: 'string' }, 'target-acc': { type: 'string' }, dpi: { type: 'string' }, size: { type: 'string' } },
    });
    if (!positionals.length) throw new ReportUsageError('report: give at least one run directory');
    const formats = parseFormats(values.format ?? 'html');
    const dpi = values.dpi === undefined ? undefined : Number(values.dpi);
    if (dpi !== undefined && !(Number.isInteger(dpi) && dpi >= 36 && dpi <= 1200)) throw new ReportUsageError(`--dpi: must be an integer in 36..1200, got "${values.dpi}"`);
    const now = new Date();
    const out = values.out ?? (positionals.length === 1 ? path.join(positionals[0], 'report') : path.join('reports', `compare-${stamp(now)}`));
    const r = await exportReport(positionals, { outDir: out, formats, targetAcc: targetAcc(values['target-acc']), dpi, sizes: sizes(values.size), now });
    const shown = (f: string) => (path.relative(process.cwd(), f).startsWith('..') ? f : path.relative(process.cwd(), f));
    for (const f of r.files) process.stdout.write(shown(f) + '\n');
    for (const e of r.errors) process.stderr.write(`fedlora report: ${e.format}: ${e.message}\n`);
    process.stderr.write(`report: ${r.files.length} files in ${(r.ms / 1000).toFixed(2)} s\n`);
    process.stdout.write(r.dir + '\n');
    return r.errors.length ? 1 : 0;
  } catch (e) {
    if (e instanceof ReportUsageError || e instanceof ReportInputError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`fedlora report: ${(e as Error).message}\n\n${REPORT_USAGE}\n`);
      return 2;
    }
    throw e;
  }
}
