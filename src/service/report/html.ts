/**
 * The self-contained HTML report: one file, inline CSS and SVG, no script and no external
 * resource, so it opens offline and prints to PDF as is. Runs that did not complete are named in
 * a banner above everything else (the first page of the PDF).
 */
import type { Figure, HiddenFigure } from './figures';
import { obj, type ReportRun } from './load';
import { methodNotes, methodSummary } from './notes';
import { classTable, classViews, MAX_REPORT_CLASSES } from './classes';
import { backendName, configTable, fmtMbit, fmtPct, fmtSec, fmtStat, type SeedGroup, type SummaryRow } from './tables';

export const esc = (s: unknown) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface ReportDoc {
  title: string;
  generatedAt: Date;
  appVersion: string;
  runs: ReportRun[];
  rows: SummaryRow[];
  groups: SeedGroup[];
  figures: Figure[];
  hidden: HiddenFigure[];
  targetAcc: number | null;
  targetSource: string;
}

export function reportTitle(runs: ReportRun[]): string {
  return runs.length === 1 ? `Run report: ${runs[0].label}` : `Comparison of ${runs.length} runs: ${runs.map((r) => r.label).join(', ')}`;
}

export const dateText = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** One line per run that did not complete (failed, stopped, interrupted, still running). */
export function statusWarnings(runs: ReportRun[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    const total = obj(r.config.federation).rounds;
    const progress = `${r.metrics.length ? r.metrics[r.metrics.length - 1].round : 0} of ${total ?? '?'} rounds`;
    if (r.status === 'failed') out.push(`Run ${r.label} FAILED after ${progress}${r.error ? `: ${r.error}` : ''}.`);
    else if (r.status === 'stopped') out.push(`Run ${r.label} was STOPPED after ${progress}.`);
    else if (r.status === 'interrupted') out.push(`Run ${r.label} was INTERRUPTED after ${progress} (its process ended without a summary; resume it to finish).`);
    else if (r.status === 'created' && !r.metrics.length) out.push(`Run ${r.label} has not started: there is nothing to report yet.`);
    else if (r.status !== 'completed') out.push(`Run ${r.label} is ${r.status.toUpperCase()} (${progress} so far): this report is a snapshot.`);
    if (r.tornLastLine) out.push(`Run ${r.label}: the last line of metrics.jsonl was incomplete and is left out.`);
  }
  return out;
}

const CSS = `
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 Helvetica, Arial, "Liberation Sans", sans-serif; color: #222; margin: 0 auto; max-width: 7.6in; padding: 16px; background: #fff; }
h1 { font-size: 17pt; margin: 0 0 2px; } h2 { font-size: 13pt; margin: 22px 0 6px; border-bottom: 1px solid #bbb; padding-bottom: 2px; }
.meta { color: #555; margin: 0 0 10px; }
.banner { border: 2px solid #D55E00; background: #fff3ea; padding: 8px 12px; margin: 8px 0 12px; }
.banner strong { color: #a33f00; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 6px 0; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { border-bottom: 1.5px solid #444; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.diff td { background: #fff4c2; } tr.diff td:first-child { font-weight: bold; }
.status-completed { color: #00704f; } .status-failed, .status-interrupted { color: #b03000; font-weight: bold; } .status-stopped { color: #8a5a00; font-weight: bold; }
.figs { display: flex; flex-wrap: wrap; gap: 10px 14px; }
figure { margin: 0; width: 3.5in; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; }
figcaption { font-size: 8.5pt; color: #333; margin-top: 2px; }
code { font-size: 9pt; } .small { font-size: 9pt; color: #444; }
dl.notes dt { font-weight: bold; margin-top: 6px; } dl.notes dd { margin: 0 0 0 0; }
td.cfg { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8pt; word-break: break-all; }
@media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } }
`;

function table(head: string[], rows: string[][], numeric: boolean[], rowClass: (i: number) => string = () => ''): string {
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>`
    + rows.map((r, i) => `<tr${rowClass(i) ? ` class="${rowClass(i)}"` : ''}>${r.map((c, j) => `<td${numeric[j] ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('')
    + '</tbody></table>';
}

function summaryTable(doc: ReportDoc): string {
  const target = doc.targetAcc === null ? null : (doc.targetAcc * 100).toFixed(1);
  const head = ['run', 'status', 'method', 'control', 'r', 'rounds', 'final acc. (%)', 'best acc. (%)', 'uplink (Mbit)', 'mean round time (s)', 'simulated time (s)', ...(target ? [`Mbit to ${target}%`] : []), 'backend'];
  const rows = doc.rows.map((r) => [
    esc(r.label), `<span class="status-${esc(r.status)}">${esc(r.status)}</span>`, esc(r.method), esc(r.controller), esc(r.rank ?? '?'),
    `${r.roundsDone} / ${r.rounds ?? '?'}`, fmtPct(r.finalAcc), fmtPct(r.bestAcc), fmtMbit(r.totalUplinkBits), fmtSec(r.meanRoundTime), fmtSec(r.simTime),
    ...(target ? [r.bitsToTarget === null ? 'not reached' : fmtMbit(r.bitsToTarget)] : []), esc(r.backend),
  ]);
  return table(head, rows, head.map((_h, j) => j >= 5 && j < head.length - 1));
}

function groupTable(doc: ReportDoc): string {
  const groups = doc.groups.filter((g) => g.runs.length > 1);
  if (!groups.length) return '';
  const head = ['configuration', 'seeds', 'completed', 'final acc. (%)', 'best acc. (%)', 'uplink (Mbit)', 'mean round time (s)'];
  const pct = (v: number) => (v * 100).toFixed(2), mbit = (v: number) => (v / 1e6).toFixed(3), sec = (v: number) => v.toFixed(3);
  const rows = groups.map((g) => [esc(g.label) + `<br><span class="small">${g.runs.map((r) => esc(r.label)).join(', ')}</span>`, esc(g.seeds.join(', ')), `${g.completed} of ${g.runs.length}`,
    fmtStat(g.finalAcc, pct), fmtStat(g.bestAcc, pct), fmtStat(g.totalUplinkBits, mbit), fmtStat(g.meanRoundTime, sec)]);
  return `<h3>Over seeds</h3><p class="small">Runs whose resolved configs differ only in seed and name; mean ± sample standard deviation over the completed runs.</p>` + table(head, rows, [false, false, true, true, true, true, true]);
}

function configSection(runs: ReportRun[]): string {
  const rows = configTable(runs);
  const nDiff = rows.filter((r) => r.differs).length;
  const intro = runs.length > 1 ? `<p class="small">${nDiff} of ${rows.length} settings differ between the runs (highlighted).</p>` : '';
  return intro + table(['setting', ...runs.map((r) => esc(r.label))], rows.map((r) => [`<code>${esc(r.path)}</code>`, ...r.values.map((v) => (v === null ? '<em>absent</em>' : esc(v)))]),
    [false, ...runs.map(() => false)], (i) => (runs.length > 1 && rows[i].differs ? 'diff' : '')).replace(/<td>(?!<code>)/g, '<td class="cfg">');
}

function environment(runs: ReportRun[]): string {
  const v = (r: ReportRun, f: (m: Record<string, unknown>) => unknown) => { const x = f(r.meta); return x === undefined || x === null ? '–' : esc(typeof x === 'object' ? JSON.stringify(x) : x); };
  const backend = (r: ReportRun) => {
    const b = obj(r.meta.backend);
    const skipped = Array.isArray(b.skipped) ? b.skipped.map((s) => `${obj(s).name ?? s}${obj(s).reason ? ` (${obj(s).reason})` : ''}`).join('; ') : '';
    return `${esc(backendName(r.meta))}${b.requested ? ` (requested ${esc(b.requested)})` : ''}${skipped ? `<br><span class="small">skipped: ${esc(skipped)}</span>` : ''}`;
  };
  const keys = [...new Set(runs.flatMap((r) => Object.keys(obj(r.meta.versions))))];
  const duration = (r: ReportRun) => {
    const a = Date.parse(String(r.meta.startedAt)), b = Date.parse(String(r.meta.endedAt));
    return Number.isFinite(a) && Number.isFinite(b) ? `${((b - a) / 1000).toFixed(1)} s` : '–';
  };
  const rows: [string, (r: ReportRun) => string][] = [
    ['backend', backend], ['tfjs', (r) => v(r, (m) => obj(m.backend).tfjsVersion)],
    ...keys.map((k): [string, (r: ReportRun) => string] => [`version: ${esc(k)}`, (r) => v(r, (m) => obj(m.versions)[k])]),
    ['host cores', (r) => v(r, (m) => obj(m.host).cores ?? m.hostCores)], ['platform', (r) => v(r, (m) => [obj(m.host).platform, obj(m.host).arch].filter(Boolean).join(' ') || undefined)],
    ['memory (GiB)', (r) => v(r, (m) => obj(m.host).totalMemGiB)], ['created', (r) => v(r, (m) => m.createdAt)], ['started', (r) => v(r, (m) => m.startedAt)],
    ['ended', (r) => v(r, (m) => m.endedAt)], ['wall time', duration], ['run directory', (r) => `<code>${esc(r.dir)}</code>`],
  ];
  return table(['', ...runs.map((r) => esc(r.label))], rows.map(([k, f]) => [k, ...runs.map(f)]), rows.map(() => false));
}

/** Per-class accuracy of every run and each run's confusion matrix (last evaluated round). */
function classSection(runs: ReportRun[]): string {
  const views = classViews(runs);
  if (!views.length) return '';
  const { head, rows } = classTable(views);
  const mats = views.map((v) => {
    if (!v.confusion || v.confusion.length > MAX_REPORT_CLASSES) return `<p class="small">Confusion matrix of ${esc(v.label)}: ${v.confusion ? `${v.confusion.length} classes, in metrics.jsonl` : 'not recorded'}.</p>`;
    return `<h3>Confusion matrix: ${esc(v.label)} (round ${v.round}; rows true class, columns predicted)</h3>`
      + table(['true \\ pred', ...v.confusion.map((_, c) => String(c))], v.confusion.map((r, c) => [String(c), ...r.map(String)]), [false, ...v.confusion.map(() => true)]);
  }).join('\n');
  return `<h2>Per-class accuracy</h2>\n${table(head.map(esc), rows.map((r) => r.map(esc)), head.map((_, i) => i > 0))}\n<p class="small">Accuracy (%) of each class at the run's last evaluated round; the worst class last.</p>\n${mats}`;
}

export function renderHtml(doc: ReportDoc): string {
  const warnings = statusWarnings(doc.runs);
  const banner = warnings.length ? `<div class="banner" role="alert">${warnings.map((w) => `<div><strong>${esc(w)}</strong></div>`).join('')}</div>` : '';
  const figs = doc.figures.map((f, i) => `<figure id="fig-${f.id}">${f.svg.one ?? f.svg.two ?? ''}<figcaption><b>Figure ${i + 1}. ${esc(f.title)}.</b> ${esc(f.caption)}</figcaption></figure>`).join('\n');
  const hidden = doc.hidden.length ? `<p class="small"><b>Not shown:</b> ${doc.hidden.map((h) => `${esc(h.title)} (${esc(h.reason)})`).join('; ')}.</p>` : '';
  const notes = methodNotes(doc.runs).map((n) => `<dt>${esc(n.title)}</dt><dd>${esc(n.text)}</dd>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(doc.title)}</h1>
<p class="meta">Generated ${esc(dateText(doc.generatedAt))} by FedLoRA Workbench ${esc(doc.appVersion)} from ${doc.runs.length} run director${doc.runs.length === 1 ? 'y' : 'ies'}.</p>
${banner}
<h2>Method</h2>
${doc.runs.map((r) => `<p><b>${esc(r.label)}</b> (<code>${esc(r.id)}</code>): ${esc(methodSummary(r))}</p>`).join('\n')}
<h2>Summary</h2>
${summaryTable(doc)}
<p class="small">Accuracy: the last and the best evaluated test accuracy; uplink: all clients' bits over all rounds; times are simulated seconds (the wireless model, not wall time).${doc.targetAcc !== null ? ` Target accuracy ${(doc.targetAcc * 100).toFixed(1)}%: ${esc(doc.targetSource)}.` : ''}</p>
${groupTable(doc)}
${classSection(doc.runs)}
<h2>Figures</h2>
<div class="figs">
${figs}
</div>
${hidden}
<h2>Configurations</h2>
${configSection(doc.runs)}
<h2>Environment</h2>
${environment(doc.runs)}
<h2>Channel model and assumptions</h2>
<p class="small">What the simulation assumes where the method specification is silent, for the parts these runs used; the full list with config fields is docs/method.md.</p>
<dl class="notes">${notes}</dl>
</body></html>
`;
}
