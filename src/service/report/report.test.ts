import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportReport, REPORT_FORMATS, type ReportResult } from './index';
import { writeReportFixture, type FixtureRun } from './testFixture';
import { CLI_NODE_ARGS } from '../workers';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
const hasPoppler = spawnSync('pdftoppm', ['-v']).error === undefined;
const noChromium = `skipped: no Chromium at ${CHROMIUM}`;
const root = path.resolve(__dirname, '../../..');

/** RFC 4180 CSV (quoted cells with "" escapes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n') { row.push(cell.replace(/\r$/, '')); rows.push(row); row = []; cell = ''; } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** A cell back to the value metrics.jsonl holds: empty = null, JSON arrays parsed, numbers exact. */
const cellValue = (s: string): unknown => (s === '' ? null : /^[[{]/.test(s) ? JSON.parse(s) : Number.isNaN(Number(s)) ? s : Number(s));

let tmp: string;
let fixture: FixtureRun[];
let all: ReportResult;
const dirs = () => fixture.map((f) => f.dir);

beforeAll(async () => {
  // Prepare: three hand-written runs (two seeds of one config, one failed svd run); every format once
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-report-'));
  fixture = writeReportFixture(path.join(tmp, 'runs'));
  const env = process.env.FEDLORA_CHROMIUM;
  if (hasChromium) process.env.FEDLORA_CHROMIUM = CHROMIUM;
  try {
    all = await exportReport(dirs(), { outDir: path.join(tmp, 'out'), formats: [...REPORT_FORMATS], dpi: 150, now: new Date('2026-01-02T12:00:00Z') });
  } finally {
    if (env === undefined) delete process.env.FEDLORA_CHROMIUM; else process.env.FEDLORA_CHROMIUM = env;
  }
});

afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

const out = (rel: string) => path.join(tmp, 'out', rel);

describe('report: every format', () => {
  it('writes html, svg, csv, json, tex and md (and pdf, png with Chromium)', () => {
    const rel = all.files.map((f) => path.relative(out(''), f));
    for (const f of ['report.html', 'report.md', 'summary.tex', 'data/metrics-all.csv', 'data/metrics-long.csv', 'data/metrics-all.json', 'figures/accuracy-round.svg', 'figures/compression-cost.svg']) expect(rel).toContain(f);
    for (const r of fixture) expect(rel).toEqual(expect.arrayContaining([`data/${r.id}.csv`, `data/${r.id}.json`]));
    if (hasChromium) {
      expect(all.errors).toEqual([]);
      expect(rel).toEqual(expect.arrayContaining(['report.pdf', 'figures/accuracy-round.png']));
      const png = fs.readFileSync(out('figures/accuracy-round.png'));
      expect(png.readUInt32BE(16)).toBe(Math.round(3.5 * 150)); // width at 150 dpi
      expect(png.includes(Buffer.from('pHYs'))).toBe(true);
    }
    for (const f of all.files) expect(fs.statSync(f).size).toBeGreaterThan(100);
  });

  it('draws the 3-run comparison with a legend naming each run', () => {
    const svg = fs.readFileSync(out('figures/accuracy-round.svg'), 'utf8');
    expect(svg).toMatch(/^<\?xml[^>]*>\n<svg width="3.5in" height="2.6in"/);
    for (const name of ['soft-a', 'soft-b', 'svd-fixed']) expect(svg).toContain(`>${name}</text>`);
    // one data line per run, in the run's colour
    for (const colour of ['#0072B2', '#D55E00', '#009E73']) expect(svg).toMatch(new RegExp(`<path d="M[\\d.]+ [\\d.]+(L[\\d.]+ [\\d.]+){2,}" fill="none"[^>]* stroke="${colour}"`));
  });

  it('round-trips the CSV to the numbers of metrics.jsonl', () => {
    for (const r of fixture) {
      const [head, ...rows] = parseCsv(fs.readFileSync(out(`data/${r.id}.csv`), 'utf8'));
      const jsonl = fs.readFileSync(path.join(r.dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(rows.length).toBe(jsonl.length);
      rows.forEach((cells, i) => {
        const back = Object.fromEntries(head.map((h, j) => [h, cellValue(cells[j])]));
        const want = Object.fromEntries(Object.entries(jsonl[i]).map(([k, v]) => [k, v ?? null]));
        expect(back).toEqual(want);
      });
    }
    const [head, ...stacked] = parseCsv(fs.readFileSync(out('data/metrics-all.csv'), 'utf8'));
    expect(head.slice(0, 3)).toEqual(['run_id', 'run_label', 'round']);
    expect(stacked.length).toBe(fixture.reduce((a, r) => a + r.rows.length, 0));
    const long = parseCsv(fs.readFileSync(out('data/metrics-long.csv'), 'utf8'));
    const share = long.find((c) => c[0] === 'run-soft-a' && c[1] === '3' && c[2] === 'shares' && c[3] === String((fixture[0].rows[2].clientIds as number[])[1]));
    expect(Number(share![4])).toBe((fixture[0].rows[2].shares as number[])[1]);
    const json = JSON.parse(fs.readFileSync(out('data/metrics-all.json'), 'utf8'));
    expect(json.runs[2].metrics).toEqual(fixture[2].rows);
  });

  it('writes a booktabs table with one row per run and a mean ± std row for the seed group', () => {
    const tex = fs.readFileSync(out('summary.tex'), 'utf8');
    expect(tex).toContain('\\toprule');
    const body = tex.split('\\midrule')[1].split('\\bottomrule')[0].trim().split('\n');
    expect(body.length).toBe(3);
    const acc = (r: FixtureRun) => ((r.rows[r.rows.length - 1].testAcc as number) * 100).toFixed(2);
    const mbit = (r: FixtureRun) => (r.rows.reduce((a, x) => a + (x.uplinkBits as number), 0) / 1e6).toFixed(3);
    fixture.forEach((r, i) => {
      expect(body[i]).toContain(acc(r));
      expect(body[i]).toContain(mbit(r));
    });
    expect(body[2]).toMatch(/^svd-fixed \(failed\) & svd & fixed & 8 & 6 &/);
    const group = tex.split('\\midrule')[2].split('\\bottomrule')[0].trim();
    const a = fixture[0].rows[9].testAcc as number, b = fixture[1].rows[9].testAcc as number;
    expect(group).toContain(`${(((a + b) / 2) * 100).toFixed(2)} $\\pm$ ${((Math.abs(a - b) / Math.SQRT2) * 100).toFixed(2)}`);
    expect(fs.readFileSync(out('report.md'), 'utf8')).toMatch(/\| soft-a \| completed \| soft \| tsfa \| 8 \| 10 \/ 10 \| 81\.00 \|/);
  });

  it('says the failed run failed at the top of the HTML, before any figure', () => {
    const html = fs.readFileSync(out('report.html'), 'utf8');
    const banner = html.indexOf('class="banner"');
    expect(banner).toBeGreaterThan(0);
    expect(banner).toBeLessThan(html.indexOf('<svg'));
    expect(html.slice(banner, banner + 300)).toContain('Run svd-fixed FAILED after 6 of 10 rounds: out of memory in round 7');
    expect(html).toContain('<tr class="diff"><td><code>compression.method</code>');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('hides figures whose fields are absent and says so', async () => {
    const dir = path.join(tmp, 'runs', 'sim-only');
    fs.cpSync(fixture[2].dir, dir, { recursive: true });
    const rows = fixture[2].rows.map(({ trainLoss: _l, testAcc: _a, sparsError: _s, covNorm: _c, ...r }) => ({ ...r, testAcc: null }));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"round": 7, "tr');
    const r = await exportReport([dir], { outDir: path.join(tmp, 'sim-out'), formats: ['html', 'svg'] });
    const figs = fs.readdirSync(path.join(tmp, 'sim-out', 'figures'));
    expect(figs).toEqual(expect.arrayContaining(['latency.svg', 'rho-rank.svg', 'bandwidth-shares.svg']));
    expect(figs).not.toContain('accuracy-round.svg');
    const html = fs.readFileSync(r.files[0], 'utf8');
    expect(html).toMatch(/Not shown:<\/b> Accuracy over rounds \(no run logged a test accuracy/);
    expect(html).toContain('the last line of metrics.jsonl was incomplete');
  });

  it('names what to install when pdf has no browser, and still writes the other formats', async () => {
    const env = process.env.FEDLORA_CHROMIUM;
    process.env.FEDLORA_CHROMIUM = path.join(tmp, 'no-such-chromium');
    try {
      const r = await exportReport([fixture[0].dir], { outDir: path.join(tmp, 'nobrowser'), formats: ['pdf', 'md'] });
      expect(r.errors).toEqual([{ format: 'pdf', message: expect.stringMatching(/no Chromium found: install Chromium .*FEDLORA_CHROMIUM/) }]);
      expect(r.files.map((f) => path.basename(f))).toEqual(['report.md']);
    } finally {
      if (env === undefined) delete process.env.FEDLORA_CHROMIUM; else process.env.FEDLORA_CHROMIUM = env;
    }
  });
});

describe('report: in a browser', () => {
  it.skipIf(!hasChromium)(`the HTML opens with no console errors and no request but itself (${hasChromium ? 'Chromium found' : noChromium})`, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const requests: string[] = [], errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(e.message));
      const url = pathToFileURL(out('report.html')).href;
      await page.goto(url, { waitUntil: 'load' });
      expect(await page.locator('figure svg').count()).toBe(11);
      expect(await page.locator('.banner').innerText()).toContain('FAILED');
      expect(requests).toEqual([url]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it.skipIf(!hasChromium || !hasPoppler)(`the PDF's first page rasterises to a non-blank image naming the failure (${!hasChromium ? noChromium : !hasPoppler ? 'skipped: no pdftoppm (poppler-utils)' : 'Chromium and poppler found'})`, () => {
    const pdf = out('report.pdf');
    expect(fs.readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const prefix = path.join(tmp, 'page');
    expect(spawnSync('pdftoppm', ['-png', '-r', '50', '-f', '1', '-l', '1', pdf, prefix]).status).toBe(0);
    const png = fs.readdirSync(tmp).find((f) => f.startsWith('page') && f.endsWith('.png'))!;
    expect(fs.statSync(path.join(tmp, png)).size).toBeGreaterThan(8000);
    // grey levels of page 1: a blank page has zero variance
    expect(spawnSync('pdftoppm', ['-gray', '-r', '50', '-f', '1', '-l', '1', '-singlefile', pdf, prefix]).status).toBe(0);
    const pgm = fs.readFileSync(prefix + '.pgm');
    const header = pgm.toString('latin1', 0, 40).match(/^P5\s+(\d+)\s+(\d+)\s+255\s/)!;
    const pixels = pgm.subarray(header[0].length);
    const mean = pixels.reduce((a, p) => a + p, 0) / pixels.length;
    const variance = pixels.reduce((a, p) => a + (p - mean) ** 2, 0) / pixels.length;
    expect(variance).toBeGreaterThan(100);
    const text = spawnSync('pdftotext', ['-f', '1', '-l', '1', pdf, '-'], { encoding: 'utf8' });
    if (text.status === 0) expect(text.stdout).toContain('svd-fixed FAILED');
  });
});

describe('fedlora report CLI', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [...CLI_NODE_ARGS, 'report', ...args], { cwd: root, encoding: 'utf8' });

  it('exits 2 for a folder that is not a run directory and for an unknown format, writing nothing', () => {
    const notRun = cli([tmp, '--out', path.join(tmp, 'x')]);
    expect(notRun.status).toBe(2);
    expect(notRun.stderr).toContain(`${tmp}: not a run directory (no config.json)`);
    const badFormat = cli([fixture[0].dir, '--format', 'html,docx', '--out', path.join(tmp, 'x')]);
    expect(badFormat.status).toBe(2);
    expect(badFormat.stderr).toContain('unknown format "docx": choose from html, pdf, svg, png, csv, json, tex, md');
    expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
  });

  it('writes the requested formats and prints the output folder last', () => {
    const r = cli([fixture[0].dir, fixture[1].dir, '--format', 'md,csv', '--target-acc', '70%', '--out', path.join(tmp, 'cli')]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toBe(path.join(tmp, 'cli'));
    expect(fs.readFileSync(path.join(tmp, 'cli', 'report.md'), 'utf8')).toContain('Target accuracy 70.0%: given.');
  });
});
