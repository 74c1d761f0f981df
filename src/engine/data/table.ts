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

/** A name from a file for an error message: quoted, cut at `max` characters. */
export function quoteName(name: string, max = 40): string {
  return JSON.stringify(name.length > max ? `${name.slice(0, max)}...` : name);
}

/** Names from a file for an error message: the first `max` quoted (quoteName), then how many more. */
export function listNames(names: string[], max = 20): string {
  return names.slice(0, max).map((n) => quoteName(n)).join(', ') + (names.length > max ? `, ... (${names.length - max} more)` : '');
}

/**
 * Where JSON.parse failed, without the input: Node's messages quote the text they read
 * ('"SECRET..." is not valid JSON'), which must not reach an error message about an arbitrary file.
 */
export function describeJsonError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const at = /at position (\d+)/.exec(msg);
  if (at) return `invalid JSON at character ${Number(at[1]) + 1}`;
  if (/Unexpected end of JSON input/.test(msg)) return 'the JSON ends early';
  return 'invalid JSON';
}

/** A file that holds NUL bytes is binary, not a CSV/JSONL table: say so without quoting it. */
function refuseBinary(text: string, file: string, what: string): void {
  const nul = text.indexOf('\0');
  if (nul < 0) return;
  let line = 1;
  for (let i = 0; i < nul; i++) if (text.charCodeAt(i) === 10) line++;
  throw new DataFileError(file, `line ${line}: a NUL byte: a binary file, not ${what}`);
}

/** What kind of value a JSON field holds (for messages that must not echo the value). */
const kindOf = (v: unknown) => v === null || typeof v === 'boolean' || typeof v === 'number' ? `${v}` : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'string' ? 'a string' : `a ${typeof v}`;

/** Newlines in text[from, to). */
function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = text.indexOf('\n', from); k >= 0 && k < to; k = text.indexOf('\n', k + 1)) n++;
  return n;
}

/**
 * Split CSV text into rows of fields, with the 1-based line each row starts on. Runs of plain
 * characters and quoted contents are sliced, not appended one character at a time (50 MB in well
 * under a second rather than 14 s).
 */
export function parseCsv(text: string, file: string): { rows: string[][]; lines: number[] } {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [], lines: number[] = [];
  let row: string[] = [], field = '', line = 1, rowLine = 1, fieldStarted = false;
  const endRow = () => {
    row.push(field);
    if (!(row.length === 1 && row[0] === '' && !fieldStarted)) { rows.push(row); lines.push(rowLine); }
    row = []; field = ''; fieldStarted = false;
  };
  const special = /[",\r\n]/g;
  let i = 0;
  while (i < text.length) {
    special.lastIndex = i;
    const m = special.exec(text);
    const j = m ? m.index : text.length;
    if (j > i) { field += text.slice(i, j); fieldStarted = true; }
    if (!m) break;
    const c = m[0];
    if (c === '"') {
      if (field !== '') throw new DataFileError(file, `line ${line}: a quote inside an unquoted field; quote the whole field and double inner quotes ("")`);
      const quoteLine = line;
      fieldStarted = true;
      let k = j + 1;
      for (;;) {
        const q = text.indexOf('"', k);
        if (q < 0) throw new DataFileError(file, `line ${quoteLine}: quoted field never closed (truncated file or a stray ")`);
        field += text.slice(k, q);
        line += countNewlines(text, k, q);
        if (text.charCodeAt(q + 1) === 34) { field += '"'; k = q + 2; } else { k = q + 1; break; }
      }
      i = k;
    } else if (c === ',') { row.push(field); field = ''; fieldStarted = true; i = j + 1; }
    else {
      i = j + 1;
      if (c === '\r' && text.charCodeAt(i) === 10) i++;
      endRow(); line++; rowLine = line;
    }
  }
  if (field !== '' || row.length || fieldStarted) endRow();
  return { rows, lines };
}

function columnIndex(header: string[], name: string, field: string, file: string): number {
  const i = header.indexOf(name);
  if (i < 0) {
    // one field: not a header of text and label columns (maybe not a CSV at all): do not quote the line
    if (header.length < 2) throw new DataFileError(file, `line 1: expected a CSV header naming the text and label columns (at least two comma-separated names), found a single field; is this a CSV file? (data.format, data.dataset)`);
    const near = header.find((h) => h.trim().toLowerCase() === name.toLowerCase());
    throw new DataFileError(file, `no column ${quoteName(name)} (columns: ${listNames(header)}); set ${field} to one of them${near ? ` (did you mean ${quoteName(near)}?)` : ''}`);
  }
  return i;
}

export function readCsvTable(text: string, file: string, cols: TableColumns): TextTable {
  refuseBinary(text, file, 'a CSV table');
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
    if (label === '') throw new DataFileError(file, `line ${lines[r]}: empty label in column ${quoteName(cols.labelColumn)}`);
    out.texts.push(row[ti]); out.labels.push(label); out.lines.push(lines[r]);
  }
  if (!out.texts.length) throw new DataFileError(file, 'no data rows after the header');
  return out;
}

export function readJsonlTable(text: string, file: string, cols: TableColumns): TextTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  refuseBinary(text, file, 'a JSONL table');
  const out: TextTable = { file, texts: [], labels: [], lines: [] };
  const all = text.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    const s = all[i].trim();
    if (!s) continue;
    let o: unknown;
    // the parser's own message quotes the line: report the position only (a line of any file)
    try { o = JSON.parse(s); } catch (e) {
      throw new DataFileError(file, `line ${i + 1}: not valid JSON (${describeJsonError(e)}); expected one JSON object per line${i === all.length - 1 ? '; truncated file?' : ''}`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new DataFileError(file, `line ${i + 1}: expected a JSON object like {${quoteName(cols.textColumn)}: "...", ${quoteName(cols.labelColumn)}: ...}, found ${kindOf(o)}`);
    const rec = o as Record<string, unknown>;
    for (const [key, field] of [[cols.textColumn, 'data.textColumn'], [cols.labelColumn, 'data.labelColumn']] as const) {
      if (!Object.hasOwn(rec, key)) throw new DataFileError(file, `line ${i + 1}: no key ${quoteName(key)} (keys: ${listNames(Object.keys(rec))}); set ${field} to one of them`);
    }
    const t = rec[cols.textColumn], l = rec[cols.labelColumn];
    if (typeof t !== 'string') throw new DataFileError(file, `line ${i + 1}: ${quoteName(cols.textColumn)} must be a string, got ${kindOf(t)}`);
    if (!(typeof l === 'string' && l.trim() !== '') && !(typeof l === 'number' && Number.isFinite(l))) {
      throw new DataFileError(file, `line ${i + 1}: ${quoteName(cols.labelColumn)} must be a non-empty string or a number, got ${typeof l === 'string' ? 'an empty string' : kindOf(l)}`);
    }
    out.texts.push(t); out.labels.push(typeof l === 'string' ? l.trim() : l); out.lines.push(i + 1);
  }
  if (!out.texts.length) throw new DataFileError(file, 'no records (expected one JSON object per line)');
  return out;
}

/** How raw labels map to class ids: the sorted distinct training labels (integers numerically). */
export interface LabelMap { classNames: string[]; ids: Int32Array[] }

const INT_LABEL = /^-?\d+$/;
const isIntLabel = (l: string | number) => typeof l === 'number' ? Number.isInteger(l) : INT_LABEL.test(l);

/** An integer label as a canonical decimal string ("007" and 7 -> "7", "-0" -> "0"), exact at any magnitude. */
function intKey(l: string | number): string {
  if (typeof l === 'number') return Number.isSafeInteger(l) ? String(l + 0) : BigInt(l).toString();
  const neg = l[0] === '-', digits = l.replace(/^-?0*/, '') || '0';
  return neg && digits !== '0' ? `-${digits}` : digits;
}

/** Numeric order of canonical integer strings (sign, then length, then digits): no precision limit. */
function compareIntKeys(a: string, b: string): number {
  const na = a[0] === '-', nb = b[0] === '-';
  if (na !== nb) return na ? -1 : 1;
  const c = a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  return na ? -c : c;
}

/**
 * Class ids for a training table and the tables evaluated against it: the distinct training
 * labels in sorted order are classes 0..C-1. When every label is an integer they sort numerically
 * (at any magnitude: labels 0 and 1000000000 are two classes) and keep their written value as the
 * class name, so labels that are already 0..C-1 keep their ids; otherwise labels are names sorted as
 * strings. A label of another table that does not occur in training is an error naming its line.
 * Linear in the rows (one Map), whatever the labels' values.
 */
export function mapLabels(train: TextTable, others: TextTable[]): LabelMap {
  const tables = [train, ...others];
  const ints = tables.every((t) => t.labels.every(isIntLabel));
  const key = ints ? intKey : (l: string | number) => String(l);
  const distinct = new Set<string>();
  for (const l of train.labels) distinct.add(key(l));
  const classNames = [...distinct].sort(ints ? compareIntKeys : undefined);
  const index = new Map(classNames.map((c, i) => [c, i]));
  const ids = tables.map((t) => Int32Array.from(t.labels, (l, r) => {
    const id = index.get(key(l));
    if (id === undefined) throw new DataFileError(t.file, `line ${t.lines[r]}: label ${quoteName(String(l))} does not occur in the training split ${train.file} (classes: ${listNames(classNames, 10)}); a class the model never trains on cannot be learned`);
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
