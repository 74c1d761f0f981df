/** Markdown summary: status warnings, the summary and seed tables, figure links, hidden figures, notes. */
import type { HiddenFigure } from './figures';
import { dateText, statusWarnings, type ReportDoc } from './html';
import { methodNotes, methodSummary } from './notes';
import { classMarkdown, classViews } from './classes';
import { fmtMbit, fmtPct, fmtSec, fmtStat } from './tables';

const cell = (s: unknown) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: unknown[]) => `| ${cells.map(cell).join(' | ')} |`;

export function renderMarkdown(doc: ReportDoc, figureFiles: { id: string; title: string; file: string }[], hidden: HiddenFigure[]): string {
  const out: string[] = [`# ${doc.title}`, '', `Generated ${dateText(doc.generatedAt)} by FedLoRA Workbench ${doc.appVersion}.`, ''];
  for (const w of statusWarnings(doc.runs)) out.push(`> **${w}**`, '');
  out.push('## Method', '');
  for (const r of doc.runs) out.push(`- **${r.label}** (\`${r.id}\`): ${methodSummary(r)}`);
  const target = doc.targetAcc === null ? null : (doc.targetAcc * 100).toFixed(1);
  out.push('', '## Summary', '',
    row(['run', 'status', 'method', 'control', 'r', 'rounds', 'final acc. (%)', 'best acc. (%)', 'uplink (Mbit)', 'mean round time (s)', 'simulated time (s)', ...(target ? [`Mbit to ${target}%`] : [])]),
    row(['---', '---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', ...(target ? ['---:'] : [])]));
  for (const r of doc.rows) {
    out.push(row([r.label, r.status, r.method, r.controller, r.rank ?? '?', `${r.roundsDone} / ${r.rounds ?? '?'}`, fmtPct(r.finalAcc), fmtPct(r.bestAcc), fmtMbit(r.totalUplinkBits), fmtSec(r.meanRoundTime), fmtSec(r.simTime),
      ...(target ? [r.bitsToTarget === null ? 'not reached' : fmtMbit(r.bitsToTarget)] : [])]));
  }
  if (target) out.push('', `Target accuracy ${target}%: ${doc.targetSource}.`);
  const multi = doc.groups.filter((g) => g.runs.length > 1);
  if (multi.length) {
    const p = (v: number) => (v * 100).toFixed(2), m = (v: number) => (v / 1e6).toFixed(3), s = (v: number) => v.toFixed(3);
    out.push('', '### Over seeds (mean ± sample std of completed runs)', '', row(['configuration', 'runs', 'completed', 'final acc. (%)', 'best acc. (%)', 'uplink (Mbit)', 'mean round time (s)']), row(['---', '---', '---:', '---:', '---:', '---:', '---:']));
    for (const g of multi) out.push(row([g.label, g.runs.map((r) => r.label).join(', '), `${g.completed} of ${g.runs.length}`, fmtStat(g.finalAcc, p), fmtStat(g.bestAcc, p), fmtStat(g.totalUplinkBits, m), fmtStat(g.meanRoundTime, s)]));
  }
  out.push('', ...classMarkdown(classViews(doc.runs)));
  out.push('## Figures', '');
  if (figureFiles.length) for (const f of figureFiles) out.push(`![${f.title}](${f.file})`, '');
  else out.push(doc.figures.map((f) => `- ${f.title}`).join('\n'), '', '(export with `--format svg` or `png` for the image files)', '');
  if (hidden.length) out.push(`Not shown: ${hidden.map((h) => `${h.title} (${h.reason})`).join('; ')}.`, '');
  out.push('## Channel model and assumptions', '');
  for (const n of methodNotes(doc.runs)) out.push(`- **${n.title}.** ${n.text}`);
  return out.join('\n') + '\n';
}
