import { describe, expect, it } from 'vitest';
import { DataFileError } from './idx';
import { mapLabels, parseCsv, readCsvTable, readJsonlTable, splitTable } from './table';
import { buildWordTokenizer, loadTokenizer, padIdOf, tokenizeTexts } from './text';

const cols = { textColumn: 'text', labelColumn: 'label' };

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
    expect(() => readJsonlTable('[1, 2]\n', 'd.jsonl', cols)).toThrow(DataFileError);
  });

  it('maps labels: integers are class ids (an empty class is an error), strings sorted; unseen test labels are an error', () => {
    const table = (file: string, labels: (string | number)[]) => ({ file, texts: labels.map(String), labels, lines: labels.map((_, i) => i + 2) });
    const m = mapLabels(table('tr.csv', ['2', '0', '1', '0']), [table('te.csv', ['1'])]);
    expect(m.classNames).toEqual(['0', '1', '2']);
    expect([...m.ids[0]]).toEqual([2, 0, 1, 0]);
    expect(() => mapLabels(table('tr.csv', [0, 2, 2]), [])).toThrow(/tr\.csv: class 1 has no training samples/);
    expect(() => mapLabels(table('tr.csv', ['-1', '0']), [])).toThrow(/line 2: integer label -1 is negative/);
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
