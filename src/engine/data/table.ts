/**
 * Labelled text tables from CSV (RFC 4180: comma-separated, a header row, fields optionally in
 * double quotes with "" for a quote, LF or CRLF line ends, a UTF-8 BOM tolerated) or JSONL (one
 * JSON object per line). The text and label columns are configurable (data.textColumn,
 * data.labelColumn); every problem names the file and, where it has one, the line.
 */
import { DataFileError } from './idx';

export interface TextTable {
  file: string;
  texts: string[];
  /** Raw labels as written (CSV: strings; JSONL: strings or numbers). */
  labels: (string | number)[];
  /** 1-based line of each row in the file (for error messages). */
  lines: number[];
}

export interface TableColumns { textColumn: string; labelColumn: string }

/** Split CSV text into rows of fields, with the 1-based line each row starts on. */
export function parseCsv(text: string, file: string): { rows: string[][]; lines: number[] } {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [], lines: number[] = [];
  let row: string[] = [], field = '', inQuotes = false, line = 1, rowLine = 1, quoteLine = 0, fieldStarted = false;
  const endRow = () => {
    row.push(field);
    if (!(row.length === 1 && row[0] === '' && !fieldStarted)) { rows.push(row); lines.push(rowLine); }
    row = []; field = ''; fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else inQuotes = false;
      } else { if (c === '\n') line++; field += c; }
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new DataFileError(file, `line ${line}: a quote inside an unquoted field; quote the whole field and double inner quotes ("")`);
      inQuotes = true; quoteLine = line; fieldStarted = true;
    } else if (c === ',') { row.push(field); field = ''; fieldStarted = true; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow(); line++; rowLine = line;
    } else { field += c; fieldStarted = true; }
  }
  if (inQuotes) throw new DataFileError(file, `line ${quoteLine}: quoted field never closed (truncated file or a stray ")`);
  if (field !== '' || row.length || fieldStarted) endRow();
  return { rows, lines };
}

function columnIndex(header: string[], name: string, field: string, file: string): number {
  const i = header.indexOf(name);
  if (i < 0) {
    const near = header.find((h) => h.trim().toLowerCase() === name.toLowerCase());
    throw new DataFileError(file, `no column "${name}" (columns: ${header.map((h) => JSON.stringify(h)).join(', ')}); set ${field} to one of them${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`);
  }
  return i;
}

export function readCsvTable(text: string, file: string, cols: TableColumns): TextTable {
  const { rows, lines } = parseCsv(text, file);
  if (!rows.length) throw new DataFileError(file, 'empty file: expected a header row and data rows');
  const header = rows[0];
  const ti = columnIndex(header, cols.textColumn, 'data.textColumn', file);
  const li = columnIndex(header, cols.labelColumn, 'data.labelColumn', file);
  const out: TextTable = { file, texts: [], labels: [], lines: [] };
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    if (row.length !== header.length) throw new DataFileError(file, `line ${lines[r]}: ${row.length} fields, the header has ${header.length} (unquoted comma in a text?)`);
    const label = row[li].trim();
    if (label === '') throw new DataFileError(file, `line ${lines[r]}: empty label in column "${cols.labelColumn}"`);
    out.texts.push(row[ti]); out.labels.push(label); out.lines.push(lines[r]);
  }
  if (!out.texts.length) throw new DataFileError(file, 'no data rows after the header');
  return out;
}

export function readJsonlTable(text: string, file: string, cols: TableColumns): TextTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: TextTable = { file, texts: [], labels: [], lines: [] };
  const all = text.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    const s = all[i].trim();
    if (!s) continue;
    let o: unknown;
    try { o = JSON.parse(s); } catch (e) {
      throw new DataFileError(file, `line ${i + 1}: not valid JSON (${(e as Error).message})${i === all.length - 1 ? '; truncated file?' : ''}`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new DataFileError(file, `line ${i + 1}: expected a JSON object like {"${cols.textColumn}": "...", "${cols.labelColumn}": ...}`);
    const rec = o as Record<string, unknown>;
    for (const [key, field] of [[cols.textColumn, 'data.textColumn'], [cols.labelColumn, 'data.labelColumn']] as const) {
      if (!(key in rec)) throw new DataFileError(file, `line ${i + 1}: no key "${key}" (keys: ${Object.keys(rec).map((k) => JSON.stringify(k)).join(', ')}); set ${field} to one of them`);
    }
    const t = rec[cols.textColumn], l = rec[cols.labelColumn];
    if (typeof t !== 'string') throw new DataFileError(file, `line ${i + 1}: "${cols.textColumn}" must be a string, got ${JSON.stringify(t)}`);
    if (!(typeof l === 'string' && l.trim() !== '') && !(typeof l === 'number' && Number.isFinite(l))) {
      throw new DataFileError(file, `line ${i + 1}: "${cols.labelColumn}" must be a non-empty string or a number, got ${JSON.stringify(l)}`);
    }
    out.texts.push(t); out.labels.push(typeof l === 'string' ? l.trim() : l); out.lines.push(i + 1);
  }
  if (!out.texts.length) throw new DataFileError(file, 'no records (expected one JSON object per line)');
  return out;
}

/** How raw labels map to class ids: integers are ids as written; otherwise the sorted distinct training labels. */
export interface LabelMap { classNames: string[]; ids: Int32Array[] }

const isIntLabel = (l: string | number) => typeof l === 'number' ? Number.isInteger(l) : /^-?\d+$/.test(l);

/**
 * Class ids for a training table and the tables evaluated against it. Integer labels are used as
 * class ids 0..max (a class without training samples is an error); string labels become classes in
 * sorted order, and a test label absent from training is an error.
 */
export function mapLabels(train: TextTable, others: TextTable[]): LabelMap {
  const tables = [train, ...others];
  if (tables.every((t) => t.labels.every(isIntLabel))) {
    const ints = tables.map((t) => t.labels.map(Number));
    tables.forEach((t, k) => {
      const bad = ints[k].findIndex((v) => v < 0);
      if (bad >= 0) throw new DataFileError(t.file, `line ${t.lines[bad]}: integer label ${ints[k][bad]} is negative (class ids start at 0)`);
    });
    const numClasses = Math.max(...ints.flat()) + 1;
    const counts = new Array(numClasses).fill(0);
    for (const v of ints[0]) counts[v]++;
    const empty = counts.findIndex((c) => c === 0);
    if (empty >= 0) {
      throw new DataFileError(train.file, `class ${empty} has no training samples (integer labels are class ids 0..${numClasses - 1}); relabel with consecutive ids or add samples of class ${empty}`);
    }
    return { classNames: counts.map((_, i) => String(i)), ids: ints.map((a) => Int32Array.from(a)) };
  }
  const classNames = [...new Set(train.labels.map(String))].sort();
  const index = new Map(classNames.map((c, i) => [c, i]));
  const ids = tables.map((t) => Int32Array.from(t.labels, (l, r) => {
    const id = index.get(String(l));
    if (id === undefined) throw new DataFileError(t.file, `line ${t.lines[r]}: label ${JSON.stringify(l)} does not occur in the training split ${train.file} (classes: ${classNames.slice(0, 10).join(', ')}${classNames.length > 10 ? ', ...' : ''})`);
    return id;
  }));
  return { classNames, ids };
}

/** Split one table into train/test by a seeded permutation (`order`: a shuffled 0..n-1), the last `testFraction` to test. */
export function splitTable(t: TextTable, order: ArrayLike<number>, testFraction: number): { train: TextTable; test: TextTable } {
  const nTest = Math.round(t.texts.length * testFraction);
  if (nTest < 1 || nTest >= t.texts.length) throw new DataFileError(t.file, `${t.texts.length} rows cannot be split with data.testFraction ${testFraction} (each split needs at least one row)`);
  const pick = (idx: number[]): TextTable => ({ file: t.file, texts: idx.map((i) => t.texts[i]), labels: idx.map((i) => t.labels[i]), lines: idx.map((i) => t.lines[i]) });
  const o = Array.from(order);
  const testIdx = o.slice(o.length - nTest).sort((a, b) => a - b), trainIdx = o.slice(0, o.length - nTest).sort((a, b) => a - b);
  return { train: pick(trainIdx), test: pick(testIdx) };
}
