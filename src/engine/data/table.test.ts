import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataFileError } from './idx';
import { mapLabels, parseCsv, readCsvTable, readJsonlTable, splitTable } from './table';
import { buildWordTokenizer, loadTokenizer, padIdOf, tokenizeTexts } from './text';

const cols = { textColumn: 'text', labelColumn: 'label' };

const table = (file: string, labels: (string | number)[]) => ({ file, texts: labels.map(String), labels, lines: labels.map((_, i) => i + 2) });

describe('CSV and JSONL tables', () => {
  it('parses RFC 4180 CSV: quotes, doubled quotes, embedded commas and newlines, CRLF, BOM', () => {
    const csv = '\ufeffid,text,label\r\n1,"a, b",pos\r\n2,"say ""hi""\nthere",neg\n3,plain,pos\n';
    const { rows, lines } = parseCsv(csv, 'x.csv');
    expect(rows).toEqual([['id', 'text', 'label'], ['1', 'a, b', 'pos'], ['2', 'say "hi"\nthere', 'neg'], ['3', 'plain', 'pos']]);
    expect(lines).toEqual([1, 2, 3, 5]);
    const t = readCsvTable(csv, 'x.csv', cols);
    expect(t.texts).toEqual(['a, b', 'say "hi"\nthere', 'plain']);
    expect(t.labels).toEqual(['pos', 'neg', 'pos']);
  });

  it('reads JSONL with string or integer labels and custom keys', () => {
    const t = readJsonlTable('{"sentence": "good", "y": 1}\n\n{"sentence": "bad", "y": 0}\n', 'x.jsonl', { textColumn: 'sentence', labelColumn: 'y' });
    expect(t.texts).toEqual(['good', 'bad']);
    expect(t.labels).toEqual([1, 0]);
    expect(t.lines).toEqual([1, 3]);
  });

  it('bad files: the file, the line and the fix are named', () => {
    expect(() => readCsvTable('id,sentence,label\n1,x,a\n', 'd.csv', cols)).toThrow(/d\.csv: no column "text" \(columns: "id", "sentence", "label"\); set data\.textColumn to one of them/);
    expect(() => readCsvTable('text,Label\nx,a\n', 'd.csv', cols)).toThrow(/set data\.labelColumn .*did you mean "Label"/);
    expect(() => readCsvTable('text,label\nx,a\ny,b,c\n', 'd.csv', cols)).toThrow(/d\.csv: line 3: 3 fields, the header has 2/);
    expect(() => readCsvTable('text,label\n"never closed,a\n', 'd.csv', cols)).toThrow(/d\.csv: line 2: quoted field never closed/);
    expect(() => readCsvTable('text,label\nx,\n', 'd.csv', cols)).toThrow(/line 2: empty label/);
    expect(() => readCsvTable('', 'e.csv', cols)).toThrow(/e\.csv: empty file/);
    expect(() => readCsvTable('text,label\n', 'h.csv', cols)).toThrow(/h\.csv: no data rows/);
    expect(() => readJsonlTable('{"text": "a", "label": 1}\n{"text": "b", "lab', 'd.jsonl', cols)).toThrow(/d\.jsonl: line 2: not valid JSON .*truncated file\?/);
    expect(() => readJsonlTable('{"txt": "a", "label": 1}\n', 'd.jsonl', cols)).toThrow(/d\.jsonl: line 1: no key "text" \(keys: "txt", "label"\); set data\.textColumn/);
    expect(() => readJsonlTable('{"text": 3, "label": 1}\n', 'd.jsonl', cols)).toThrow(/"text" must be a string, got 3/);
    expect(() => readJsonlTable('{"text": {"secret": "s3cr3t"}, "label": 1}\n', 'd.jsonl', cols)).toThrow(/"text" must be a string, got an object$/);
    expect(() => readJsonlTable('[1, 2]\n', 'd.jsonl', cols)).toThrow(DataFileError);
  });

  it('maps labels: the sorted distinct training labels (integers numerically) are the classes; unseen test labels are an error', () => {
    const m = mapLabels(table('tr.csv', ['2', '0', '1', '0']), [table('te.csv', ['1'])]);
    expect(m.classNames).toEqual(['0', '1', '2']);
    expect([...m.ids[0]]).toEqual([2, 0, 1, 0]);
    const gap = mapLabels(table('tr.csv', [0, 2, 2]), []); // no class "1": two classes, named as written
    expect(gap.classNames).toEqual(['0', '2']);
    expect([...gap.ids[0]]).toEqual([0, 1, 1]);
    const neg = mapLabels(table('tr.csv', ['1', '-1', '10', '9']), []);
    expect(neg.classNames).toEqual(['-1', '1', '9', '10']); // numeric order, not string order
    expect([...neg.ids[0]]).toEqual([1, 0, 3, 2]);
    expect(() => mapLabels(table('tr.csv', ['0', '1']), [table('te.csv', ['1', '5'])])).toThrow(/te\.csv: line 3: label "5" does not occur in the training split tr\.csv/);
    const s = mapLabels(table('tr.csv', ['spam', 'ham', 'spam']), [table('te.csv', ['ham'])]);
    expect(s.classNames).toEqual(['ham', 'spam']);
    expect([...s.ids[0]]).toEqual([1, 0, 1]);
    expect(() => mapLabels(table('tr.csv', ['spam', 'ham']), [table('te.csv', ['ham', 'eggs'])])).toThrow(/te\.csv: line 3: label "eggs" does not occur in the training split tr\.csv/);
    const sp = splitTable(table('all.csv', ['a', 'b', 'c', 'd', 'e']), [4, 2, 0, 1, 3], 0.4);
    expect(sp.train.labels).toEqual(['a', 'c', 'e']);
    expect(sp.test.labels).toEqual(['b', 'd']);
    expect(() => splitTable(table('one.csv', ['a']), [0], 0.2)).toThrow(/one\.csv: 1 rows cannot be split/);
  });
});

describe('hostile tables', () => {
  it('integer labels 0 and 1000000000 are two classes (not an array of a billion counts)', () => {
    const t0 = Date.now();
    const m = mapLabels(table('tr.csv', ['0', '1000000000', '0', '1000000000']), [table('te.csv', ['1000000000'])]);
    expect(m.classNames).toEqual(['0', '1000000000']);
    expect([...m.ids[0]]).toEqual([0, 1, 0, 1]);
    expect([...m.ids[1]]).toEqual([1]);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a 200,000-row integer-label table maps without spreading its labels into Math.max', () => {
    const labels = Array.from({ length: 200_000 }, (_, i) => String(i % 7));
    const m = mapLabels(table('big.csv', labels), [table('te.csv', ['6', '0'])]);
    expect(m.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(m.ids[0][199_999]).toBe(199_999 % 7);
    expect([...m.ids[1]]).toEqual([6, 0]);
  });

  it('integer labels beyond 2^53 stay distinct; "007" and 7 are one class', () => {
    const m = mapLabels(table('tr.jsonl', ['12345678901234567891', '12345678901234567890', '007', 7, -3, '-0']), []);
    expect(m.classNames).toEqual(['-3', '0', '7', '12345678901234567890', '12345678901234567891']);
    expect([...m.ids[0]]).toEqual([4, 3, 2, 2, 0, 1]);
  });

  it('errors about a file never quote its lines: JSON parse errors give a position, a one-field header is not echoed', () => {
    const secret = 'SECRET-TOKEN-abc123';
    const msg = (f: () => unknown) => { try { f(); } catch (e) { return (e as Error).message; } return ''; };
    const j = msg(() => readJsonlTable(`${secret}\n`, 'x.jsonl', cols));
    expect(j).toMatch(/x\.jsonl: line 1: not valid JSON \(invalid JSON\); expected one JSON object per line/);
    expect(j).not.toContain('SECRET');
    const j2 = msg(() => readJsonlTable(`{"text": "a", "label": 1}\n{"${secret}" 1}\n`, 'x.jsonl', cols));
    expect(j2).toMatch(/line 2: not valid JSON \(invalid JSON at character \d+\)/);
    expect(j2).not.toContain('SECRET');
    const c = msg(() => readCsvTable(`root:x:0:0:${secret}:/root:/bin/bash\n`, 'passwd', cols));
    expect(c).toMatch(/passwd: line 1: expected a CSV header naming the text and label columns/);
    expect(c).not.toContain('SECRET');
    expect(msg(() => readCsvTable(`a\0b,${secret}\n`, 'bin.csv', cols))).toMatch(/^bin\.csv: line 1: a NUL byte: a binary file, not a CSV table$/);
    expect(msg(() => readJsonlTable('{"text": "a"}\n\0\n', 'bin.jsonl', cols))).toMatch(/line 2: a NUL byte/);
  });

  it('column and key lists are capped: at most 20 names of at most 40 characters each', () => {
    const header = Array.from({ length: 50 }, (_, i) => `c${i}${'x'.repeat(100)}`);
    let m = '';
    try { readCsvTable(`${header.join(',')}\n`, 'wide.csv', cols); } catch (e) { m = (e as Error).message; }
    expect(m).toMatch(/no column "text" \(columns: .*, \.\.\. \(30 more\)\); set data\.textColumn/);
    expect(m).not.toContain('x'.repeat(41));
    expect(m.length).toBeLessThan(1200);
    let k = '';
    try { readJsonlTable(JSON.stringify(Object.fromEntries(header.map((h) => [h, 1]))) + '\n', 'wide.jsonl', cols); } catch (e) { k = (e as Error).message; }
    expect(k).toMatch(/no key "text" \(keys: .*\(30 more\)\)/);
    expect(k.length).toBeLessThan(1200);
    // a key inherited from Object.prototype is not a column
    expect(() => readJsonlTable('{"text": "a"}\n', 'p.jsonl', { textColumn: 'text', labelColumn: 'constructor' })).toThrow(/no key "constructor"/);
  });
});

/** The character-at-a-time parser parseCsv replaced (kept as the reference of its behaviour). */
function referenceCsv(text: string, file: string): { rows: string[][]; lines: number[] } {
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
      if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else inQuotes = false; } else { if (c === '\n') line++; field += c; }
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new DataFileError(file, `line ${line}: a quote inside an unquoted field; quote the whole field and double inner quotes ("")`);
      inQuotes = true; quoteLine = line; fieldStarted = true;
    } else if (c === ',') { row.push(field); field = ''; fieldStarted = true; }
    else if (c === '\n' || c === '\r') { if (c === '\r' && text[i + 1] === '\n') i++; endRow(); line++; rowLine = line; }
    else { field += c; fieldStarted = true; }
  }
  if (inQuotes) throw new DataFileError(file, `line ${quoteLine}: quoted field never closed (truncated file or a stray ")`);
  if (field !== '' || row.length || fieldStarted) endRow();
  return { rows, lines };
}

describe('CSV parser', () => {
  it('property: the same rows, lines and errors as the character-at-a-time reference', () => {
    const run = (f: () => unknown) => { try { return f(); } catch (e) { return (e as Error).message; } };
    const csvish = fc.array(fc.constantFrom('a', 'b', ' ', ',', '"', '""', '\n', '\r', '\r\n', '\ufeff', 'é'), { maxLength: 40 }).map((a) => a.join(''));
    fc.assert(fc.property(csvish, (t) => { expect(run(() => parseCsv(t, 'p.csv'))).toEqual(run(() => referenceCsv(t, 'p.csv'))); }), { numRuns: 3000 });
  });

  it('parses 50 MB in about a second, not one character at a time', () => {
    const text = 'text,label\n' + Array.from({ length: 2000 }, (_, i) => `"${'word, '.repeat(4000)}${i}",${i % 2}\n`).join('');
    const t0 = Date.now();
    const { rows } = parseCsv(text, 'big.csv');
    expect(rows).toHaveLength(2001);
    expect(Date.now() - t0).toBeLessThan(3000); // the reference takes ~14 s on the 2-core machine
  });
});

describe('tokenisation', () => {
  it('builds a word-level vocabulary from training texts and encodes with [CLS] ... [SEP], truncating and padding', () => {
    const texts = ['A dog is a mammal.', 'The dog barks; a cat meows!', 'a cat'];
    const json = buildWordTokenizer(texts, 9);
    const vocab = (json.model as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(vocab).slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(Object.keys(vocab).slice(5)).toEqual(['a', 'dog', 'cat', 'is']); // most frequent first, ties by first appearance
    const tok = loadTokenizer(json, 'tokenizer.json');
    expect(padIdOf(tok, json, 'tokenizer.json')).toBe(0);
    const { ids, truncated, unknown } = tokenizeTexts(tok, ['A DOG!', 'a cat a dog a cat a dog'], 6, 0);
    expect([...ids.slice(0, 6)]).toEqual([2, 5, 6, 1, 3, 0]); // [CLS] a dog [UNK](!) [SEP] [PAD]
    expect([...ids.slice(6)]).toEqual([2, 5, 7, 5, 6, 5]);
    expect(truncated).toBe(1);
    expect(unknown).toBe(1);
    expect(() => loadTokenizer({ vocab: {} }, 'vocab.json')).toThrow(/vocab\.json: not a tokenizer\.json/);
  });
});
