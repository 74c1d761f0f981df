import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend';
import { parseConfig } from '../../engine/config';
import { jpegBytes, pngBytes } from '../../engine/data/imageFixtures';
import { buildWordTokenizer } from '../../engine/data/text';
import { toHfBert, toTimmVit } from '../../engine/model/checkpoints';
import { encodeSafetensors } from '../../engine/model/safetensors';
import { initTextWeights } from '../../engine/model/text';
import type { TextSpec, VitSpec } from '../../engine/model/types';
import { initVitWeights } from '../../engine/model/vit';
import { Rng } from '../../engine/rng';
import { loadTaskData } from './datasets';
import { loadModel } from './models';
import { executeRun } from '../runner';
import { createRunDir, readMetrics } from '../runs/runStore';
import { validateRunConfig } from '../validate';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-byo-'));
const write = (dir: string, rel: string, data: string | Uint8Array) => { fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true }); fs.writeFileSync(path.join(dir, rel), data); };

const textSpec: TextSpec = { arch: 'text', vocabSize: 40, maxLen: 16, seqLen: 12, padId: 0, dim: 16, depth: 1, heads: 2, mlpDim: 32, numClasses: 2, norm: 'pre', pooling: 'mean', pooler: false };
const vitSpec: VitSpec = { arch: 'vit', imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 1, heads: 2, mlpDim: 32, numClasses: 3 };
const WORDS = ['red', 'green', 'blue', 'cat', 'dog', 'fish'];

/** A small labelled text corpus: class = colour or animal words. */
function sentences(n: number, seed: string): { text: string; label: string }[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => { const c = i % 2; return { text: `a ${WORDS[c * 3 + r.int(3)]} and ${WORDS[c * 3 + r.int(3)]}, "quoted"`, label: c ? 'animal' : 'colour' }; });
}
const toCsv = (rows: { text: string; label: string }[], tc = 'text', lc = 'label') => `${tc},${lc}\n` + rows.map((r) => `"${r.text.replace(/"/g, '""')}",${r.label}\n`).join('');

/** Our text model file with its tokenizer inside. */
function textModelFile(dir: string): string {
  const tok = buildWordTokenizer(sentences(40, 'vocab').map((s) => s.text), textSpec.vocabSize);
  const f = path.join(dir, 'text.safetensors');
  fs.writeFileSync(f, encodeSafetensors(initTextWeights(textSpec, new Rng('w')), { 'fedlora.spec': JSON.stringify(textSpec), 'fedlora.tokenizer': JSON.stringify(tok) }));
  return f;
}

/** Class folders of PNG and JPEG images (sizes differ from the model's 8x8). */
function imageFolder(dir: string, perClass = 4): void {
  ['circle', 'dark', 'light'].forEach((cls, c) => {
    for (let i = 0; i < perClass; i++) {
      const f = (x: number, y: number) => { const v = c === 1 ? 20 : c === 2 ? 230 : ((x - 6) ** 2 + (y - 6) ** 2 < 16 ? 255 : 0); return [v, v, (v + i) % 256]; };
      write(dir, `${cls}/${i}.${i % 2 ? 'jpg' : 'png'}`, i % 2 ? jpegBytes(12, 12, f) : pngBytes(10 + i, 12, f));
    }
  });
}

function issues(input: Record<string, unknown>, dir: string): { path: string; message: string }[] {
  const r = validateRunConfig(input, dir);
  return r.ok ? [] : r.issues;
}

describe('bring your own data and model (service)', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('loads a CSV folder and a single JSONL file (held-out split) as token rows for a text model', () => {
    const dir = tmp();
    write(dir, 'csv/train.csv', toCsv(sentences(30, 'tr')));
    write(dir, 'csv/test.csv', toCsv(sentences(10, 'te')));
    write(dir, 'all.jsonl', sentences(20, 'j').map((s, i) => JSON.stringify({ sentence: s.text, y: i % 2 })).join('\n'));
    textModelFile(dir);
    const cfg = parseConfig({ data: { dataset: path.join(dir, 'csv') }, model: { name: path.join(dir, 'text.safetensors') } });
    const model = loadModel(cfg, dir);
    const d = loadTaskData(cfg, model, dir);
    expect([d.train.n, d.test.n, d.train.rowLen, d.train.numPatches, d.train.numClasses]).toEqual([30, 10, 12, 12, 2]);
    expect(d.classNames).toEqual(['animal', 'colour']);
    expect(d.train.x[0]).toBe(2); // [CLS]
    const j = parseConfig({ data: { dataset: 'all.jsonl', textColumn: 'sentence', labelColumn: 'y', testFraction: 0.25, seqLen: 8 }, model: { name: 'text.safetensors' } });
    const jm = loadModel(j, dir);
    const jd = loadTaskData(j, jm, dir);
    expect([jd.train.n, jd.test.n, jd.train.rowLen, jm.spec.arch === 'text' && jm.spec.seqLen]).toEqual([15, 5, 8, 8]);
    expect(jd.classNames).toEqual(['0', '1']);
  });

  it('loads class folders of PNG/JPEG images resized to the model input', () => {
    const dir = tmp();
    imageFolder(path.join(dir, 'imgs'));
    fs.writeFileSync(path.join(dir, 'vit.safetensors'), encodeSafetensors(initVitWeights(vitSpec, new Rng('w')), { 'fedlora.spec': JSON.stringify(vitSpec) }));
    const cfg = parseConfig({ data: { dataset: 'imgs', testFraction: 0.25 }, model: { name: 'vit.safetensors' } });
    const d = loadTaskData(cfg, loadModel(cfg, dir), dir);
    expect([d.train.n, d.test.n, d.train.rowLen, d.train.numClasses]).toEqual([9, 3, 64, 3]);
    expect(d.classNames).toEqual(['circle', 'dark', 'light']);
    // a "dark" image: every pixel 20/255 after resizing and gray conversion (PNG exact; JPEG close)
    const i = Array.from(d.train.y).indexOf(1);
    for (const v of d.train.x.subarray(i * 64, (i + 1) * 64)) expect(Math.abs(v - 20 / 255)).toBeLessThan(0.03);
  });

  it('reads train/ and test/ class folders for an RGB model, normalised by model.pixelMean/pixelStd', () => {
    const dir = tmp();
    imageFolder(path.join(dir, 'imgs/train'), 2);
    imageFolder(path.join(dir, 'imgs/test'), 1);
    const rgb: VitSpec = { ...vitSpec, channels: 3 };
    fs.writeFileSync(path.join(dir, 'vit.safetensors'), encodeSafetensors(initVitWeights(rgb, new Rng('w')), { 'fedlora.spec': JSON.stringify(rgb) }));
    const cfg = parseConfig({ data: { dataset: 'imgs' }, model: { name: 'vit.safetensors', pixelMean: [0.5, 0.5, 0.5], pixelStd: [0.25, 0.25, 0.25] } });
    const d = loadTaskData(cfg, loadModel(cfg, dir), dir);
    expect([d.train.n, d.test.n, d.train.rowLen]).toEqual([6, 3, 8 * 8 * 3]);
    const light = Array.from(d.test.y).indexOf(2); // a PNG: exact (230/255 - 0.5) / 0.25
    expect(d.test.x[light * 192]).toBeCloseTo((230 / 255 - 0.5) / 0.25, 5);
    const bad = parseConfig({ data: { dataset: 'imgs' }, model: { name: 'vit.safetensors', pixelMean: [0.5], pixelStd: [0.25] } });
    expect(() => loadModel(bad, dir)).toThrow(/model\.pixelMean: 1 values for a 3-channel model/);
  });

  it('validation names the file, the field and the fix for bad data', () => {
    const dir = tmp();
    textModelFile(dir);
    fs.writeFileSync(path.join(dir, 'vit.safetensors'), encodeSafetensors(initVitWeights(vitSpec, new Rng('w')), { 'fedlora.spec': JSON.stringify(vitSpec) }));
    write(dir, 'cols.csv', toCsv(sentences(10, 'c'), 'sentence', 'label'));
    const base = { model: { name: 'text.safetensors' } };
    expect(issues({ ...base, data: { dataset: 'cols.csv' } }, dir)).toEqual([{ path: 'data.textColumn', message: expect.stringMatching(/cols\.csv: no column "text" \(columns: "sentence", "label"\); set data\.textColumn/) }]);
    write(dir, 'ints.jsonl', [2, 2, 2, 2, 2].map((y) => JSON.stringify({ text: 'a cat', label: y })).join('\n'));
    expect(issues({ ...base, data: { dataset: 'ints.jsonl', testFraction: 0.2 } }, dir)[0].message).toMatch(/ints\.jsonl: needs at least 2 classes, found 1 \("2"\)/);
    write(dir, 'cut.jsonl', '{"text": "a cat", "label": "x"}\n{"text": "a d');
    expect(issues({ ...base, data: { dataset: 'cut.jsonl' } }, dir)[0].message).toMatch(/cut\.jsonl: line 2: not valid JSON.*truncated file\?/);
    write(dir, 'notes.txt', 'hello');
    expect(issues({ ...base, data: { dataset: 'notes.txt' } }, dir)[0]).toMatchObject({ path: 'data.dataset', message: expect.stringMatching(/must be a \.csv or \.jsonl table/) });
    // images: an empty class folder, and a file that is not an image
    imageFolder(path.join(dir, 'imgs'));
    fs.mkdirSync(path.join(dir, 'imgs/zebra'));
    expect(issues({ data: { dataset: 'imgs' }, model: { name: 'vit.safetensors' } }, dir)[0].message).toMatch(/imgs\/zebra: class "zebra" is empty: no \.png\/\.jpg\/\.jpeg files/);
    fs.rmdirSync(path.join(dir, 'imgs/zebra'));
    write(dir, 'imgs/dark/broken.png', 'not really a png');
    expect(issues({ data: { dataset: 'imgs' }, model: { name: 'vit.safetensors' } }, dir)[0].message).toMatch(/imgs\/dark\/broken\.png: not a PNG or JPEG image/);
    // a text dataset with an image model
    write(dir, 'ok/train.csv', toCsv(sentences(10, 'o')));
    write(dir, 'ok/test.csv', toCsv(sentences(4, 'o2')));
    expect(issues({ data: { dataset: 'ok' }, model: { name: 'vit.safetensors' } }, dir)[0]).toMatchObject({ path: 'model.name', message: expect.stringMatching(/a vit model cannot read the text dataset "ok"; pick a text model/) });
    expect(issues({ data: { dataset: 'ok', seqLen: 64 }, ...base }, dir)[0]).toMatchObject({ path: 'data.seqLen', message: expect.stringMatching(/64 tokens but the model has 16 positions/) });
  });

  it('validation names the file and the tensor for bad checkpoints and tokenizers', () => {
    const dir = tmp();
    write(dir, 'ok/train.csv', toCsv(sentences(10, 'o')));
    write(dir, 'ok/test.csv', toCsv(sentences(4, 'o2')));
    const bertSpec: TextSpec = { ...textSpec, norm: 'post', pooling: 'cls', pooler: true, heads: 2, layerNormEps: 1e-12 };
    const hf = toHfBert(bertSpec, initTextWeights(bertSpec, new Rng('w')));
    fs.writeFileSync(path.join(dir, 'bert.safetensors'), encodeSafetensors(hf));
    const data = { dataset: 'ok' };
    const federation = { numClients: 2, clientsPerRound: 1 }; // 10 rows: the partition is checked at validation too
    expect(issues({ data, federation, model: { name: 'bert.safetensors', heads: 2 } }, dir)[0]).toMatchObject({ path: 'model.tokenizer', message: expect.stringMatching(/no tokenizer inside and no tokenizer\.json beside it; set model\.tokenizer/) });
    write(dir, 'tokenizer.json', JSON.stringify(buildWordTokenizer(sentences(40, 'v').map((s) => s.text), 40)));
    expect(issues({ data, federation, model: { name: 'bert.safetensors', heads: 2 } }, dir)).toEqual([]);
    write(dir, 'config.json', JSON.stringify({ num_attention_heads: 3 }));
    expect(issues({ data, federation, model: { name: 'bert.safetensors' } }, dir)[0].message).toMatch(/bert\.safetensors: dim 16 is not divisible by model\.heads 3/);
    fs.rmSync(path.join(dir, 'config.json'));
    const bad = { ...hf, 'bert.encoder.layer.0.attention.self.key.weight': { shape: [16, 8], data: new Float32Array(128) } };
    fs.writeFileSync(path.join(dir, 'bad.safetensors'), encodeSafetensors(bad));
    expect(issues({ data, federation, model: { name: 'bad.safetensors', heads: 2 } }, dir)[0]).toMatchObject({ path: 'model.name', message: expect.stringMatching(/bad\.safetensors: tensor "bert\.encoder\.layer\.0\.attention\.self\.key\.weight" has shape \[16,8\], expected \[16,16\]/) });
    const bytes = fs.readFileSync(path.join(dir, 'bert.safetensors'));
    fs.writeFileSync(path.join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 100));
    expect(issues({ data, federation, model: { name: 'cut.safetensors', heads: 2 } }, dir)[0].message).toMatch(/cut\.safetensors: tensor ".*": data ends at byte \d+ but the file has \d+ data bytes \(truncated\?\)/);
    fs.writeFileSync(path.join(dir, 'other.safetensors'), encodeSafetensors({ 'x.weight': { shape: [2], data: new Float32Array(2) } }));
    expect(issues({ data, federation, model: { name: 'other.safetensors' } }, dir)[0].message).toMatch(/other\.safetensors: neither our metadata .* nor timm ViT nor Hugging Face BERT tensor names/);
    // a tokenizer whose ids exceed the model's embeddings fails at load, naming both
    write(dir, 'big-tokenizer.json', JSON.stringify(buildWordTokenizer(sentences(40, 'v').map((s) => s.text).concat([Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ')]), 200)));
    const cfg = parseConfig({ data: { dataset: path.join(dir, 'ok') }, model: { name: path.join(dir, 'bert.safetensors'), heads: 2, tokenizer: path.join(dir, 'big-tokenizer.json') } });
    write(dir, 'ok/train.csv', toCsv([...sentences(10, 'o'), { text: 'w58 w59', label: 'colour' }]));
    expect(() => loadTaskData(cfg, loadModel(cfg, dir), dir)).toThrow(/model\.tokenizer: .*big-tokenizer\.json gives token id \d+ .*train\.csv line 12.*40 embeddings/);
  });

  it('a timm-named ViT checkpoint fine-tunes on an image folder through the runner', async () => {
    const dir = tmp();
    imageFolder(path.join(dir, 'imgs'), 6);
    fs.writeFileSync(path.join(dir, 'timm.safetensors'), encodeSafetensors(toTimmVit(vitSpec, initVitWeights(vitSpec, new Rng('w')))));
    const v = validateRunConfig({ seed: 1, backend: 'wasm', data: { dataset: 'imgs', testFraction: 0.25 }, model: { name: 'timm.safetensors', heads: 2 }, federation: { numClients: 2, clientsPerRound: 2, rounds: 1 }, train: { localSteps: 1, batchSize: 4 } }, dir);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.config.model.name).toBe(path.join(dir, 'timm.safetensors'));
    const run = createRunDir(path.join(dir, 'runs'), v.config, {}, 2);
    const s = await executeRun(run);
    expect(s.status).toBe('completed');
    expect(readMetrics<{ testAcc: number }>(run).rows[0].testAcc).toBeGreaterThanOrEqual(0);
  });
});
