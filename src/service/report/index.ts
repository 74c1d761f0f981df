/**
 * exportReport: run directories in, report files out. One pass reads the runs, computes the
 * tables and draws the figures; each requested format is then written. A format that cannot be
 * produced (pdf/png without a browser) is reported in `errors` and the others are still written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pkg from '../../../package.json';
import { launchChromium, type ReportBrowser } from './browser';
import { combinedCsv, combinedJson, longCsv, runCsv, runJson } from './data';
import { buildFigures } from './figures';
import { renderHtml, reportTitle, type ReportDoc } from './html';
import { renderLatex } from './latex';
import { loadRuns, ReportInputError } from './load';
import { renderMarkdown } from './markdown';
import { SIZES, type FigureSize } from './style';
import { seedGroups, summaryRow } from './tables';

export { ReportInputError } from './load';
export { BrowserMissingError, findChromium, INSTALL_HINT, type ReportBrowser } from './browser';

export const REPORT_FORMATS = ['html', 'pdf', 'svg', 'png', 'csv', 'json', 'tex', 'md'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportOptions {
  outDir: string;
  formats?: ReportFormat[];
  /** Target test accuracy in (0, 1] for "bits to reach"; default: the lowest final accuracy among the runs. */
  targetAcc?: number | null;
  /** PNG resolution (default 300). */
  dpi?: number;
  /** Figure sizes for svg/png: one column (3.5 in) and/or two columns (7 in). Default ['one']. */
  sizes?: FigureSize[];
  now?: Date;
  /** How pdf/png get a browser (default: a found Chromium). */
  browser?: () => Promise<ReportBrowser>;
}

export interface ReportResult {
  dir: string;
  files: string[];
  /** Formats that could not be written, with the reason. */
  errors: { format: ReportFormat; message: string }[];
  ms: number;
}

/** Formats from a comma list or array; unknown names are a ReportInputError naming the valid ones. */
export function parseFormats(input: string | string[] | undefined): ReportFormat[] {
  const list = (Array.isArray(input) ? input : (input ?? 'html').split(',')).map((f) => f.trim().toLowerCase()).filter(Boolean);
  const bad = list.filter((f) => !(REPORT_FORMATS as readonly string[]).includes(f));
  if (bad.length) throw new ReportInputError(`unknown format${bad.length > 1 ? 's' : ''} ${bad.map((b) => JSON.stringify(b)).join(', ')}: choose from ${REPORT_FORMATS.join(', ')}`);
  if (!list.length) throw new ReportInputError(`no format given: choose from ${REPORT_FORMATS.join(', ')}`);
  return [...new Set(list)] as ReportFormat[];
}

const fileSafe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || 'run';
const figureFile = (id: string, size: FigureSize, ext: string) => `${id}${size === 'two' ? '-2col' : ''}.${ext}`;

export async function exportReport(dirs: string[], opts: ReportOptions): Promise<ReportResult> {
  const t0 = performance.now();
  const formats = opts.formats ?? ['html'];
  const dpi = opts.dpi ?? 300;
  if (!(Number.isFinite(dpi) && dpi >= 36 && dpi <= 1200)) throw new ReportInputError(`dpi: must be a number in 36..1200, got ${dpi}`);
  if (opts.targetAcc !== undefined && opts.targetAcc !== null && !(opts.targetAcc > 0 && opts.targetAcc <= 1)) {
    throw new ReportInputError(`target accuracy: must be in (0, 1] (a fraction), got ${opts.targetAcc}`);
  }
  const runs = loadRuns(dirs);
  const now = opts.now ?? new Date();
  const sizes = opts.sizes?.length ? [...new Set(opts.sizes)] : (['one'] as FigureSize[]);

  const provisional = runs.map((r) => summaryRow(r, null));
  let targetAcc = opts.targetAcc ?? null;
  let targetSource = 'given';
  if (targetAcc === null) {
    const finals = provisional.map((r) => r.finalAcc).filter((a): a is number => a !== null);
    if (finals.length) { targetAcc = Math.min(...finals); targetSource = 'default: the lowest final accuracy among the runs'; }
  }
  const rows = runs.map((r) => summaryRow(r, targetAcc));
  const groups = seedGroups(runs, rows);
  const figureSizes = [...new Set<FigureSize>(['one', ...(formats.some((f) => f === 'svg' || f === 'png') ? sizes : [])])];
  const { figures, hidden } = buildFigures(runs, { targetAcc, targetSource }, figureSizes);
  const doc: ReportDoc = { title: reportTitle(runs), generatedAt: now, appVersion: pkg.version, runs, rows, groups, figures, hidden, targetAcc, targetSource };

  const out = path.resolve(opts.outDir);
  fs.mkdirSync(out, { recursive: true });
  const written: string[] = [];
  const errors: ReportResult['errors'] = [];
  const write = (rel: string, data: string | Buffer) => {
    const f = path.join(out, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, data);
    written.push(f);
    return f;
  };

  const html = formats.includes('html') || formats.includes('pdf') ? renderHtml(doc) : '';
  if (formats.includes('html')) write('report.html', html);
  const figFiles: { id: string; title: string; file: string }[] = [];
  if (formats.includes('svg')) {
    for (const f of figures) for (const s of sizes) {
      write(path.join('figures', figureFile(f.id, s, 'svg')), `<?xml version="1.0" encoding="UTF-8"?>\n${f.svg[s]}\n`);
      if (s === sizes[0]) figFiles.push({ id: f.id, title: f.title, file: `figures/${figureFile(f.id, s, 'svg')}` });
    }
  }
  if (formats.includes('csv')) {
    for (const r of runs) write(path.join('data', `${fileSafe(r.id)}.csv`), runCsv(r));
    write(path.join('data', 'metrics-all.csv'), combinedCsv(runs));
    write(path.join('data', 'metrics-long.csv'), longCsv(runs));
  }
  if (formats.includes('json')) {
    for (const r of runs) write(path.join('data', `${fileSafe(r.id)}.json`), JSON.stringify(runJson(r), null, 1) + '\n');
    write(path.join('data', 'metrics-all.json'), combinedJson(runs, now.toISOString()));
  }
  if (formats.includes('tex')) write('summary.tex', renderLatex(rows, groups, now, targetAcc));

  if (formats.includes('pdf') || formats.includes('png')) {
    const wanted = formats.filter((f): f is 'pdf' | 'png' => f === 'pdf' || f === 'png');
    let browser: ReportBrowser | null = null;
    try {
      browser = await (opts.browser ?? (() => launchChromium()))();
    } catch (e) {
      for (const f of wanted) errors.push({ format: f, message: (e as Error).message });
    }
    if (browser) {
      try {
        if (formats.includes('png')) {
          try {
            const pngs: { id: string; title: string; file: string }[] = [];
            for (const f of figures) for (const s of sizes) {
              const file = path.join(out, 'figures', figureFile(f.id, s, 'png'));
              fs.mkdirSync(path.dirname(file), { recursive: true });
              await browser.png(f.svg[s]!, SIZES[s].widthIn, SIZES[s].heightIn, dpi, file);
              written.push(file);
              if (s === sizes[0]) pngs.push({ id: f.id, title: f.title, file: `figures/${figureFile(f.id, s, 'png')}` });
            }
            if (!figFiles.length) figFiles.push(...pngs);
          } catch (e) { errors.push({ format: 'png', message: (e as Error).message }); }
        }
        if (formats.includes('pdf')) {
          const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-report-'));
          try {
            const htmlFile = path.join(tmp, 'report.html');
            fs.writeFileSync(htmlFile, html);
            await browser.pdf(htmlFile, path.join(out, 'report.pdf'));
            written.push(path.join(out, 'report.pdf'));
          } catch (e) {
            errors.push({ format: 'pdf', message: (e as Error).message });
          } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
          }
        }
      } finally {
        await browser.close();
      }
    }
  }
  if (formats.includes('md')) write('report.md', renderMarkdown(doc, figFiles, hidden));
  return { dir: out, files: written, errors, ms: performance.now() - t0 };
}
