/**
 * Hostile data and model files through config validation (validateRunConfig -> checkDataset,
 * modelSpecMemo/loadModelFile): FIFOs, devices and folders where a file is expected, header
 * lengths beyond the file, one-class datasets, integer labels of any magnitude, files that are not
 * what the config says. Each must be a config issue naming the field, quickly, before any run
 * directory exists (a blocked read of a FIFO would hang the test, not fail it: the time asserts
 * are for the ones that would merely be slow).
 */
import * as fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pngBytes } from '../../engine/data/imageFixtures';
import { buildWordTokenizer } from '../../engine/data/text';
import { toTimmVit } from '../../engine/model/checkpoints';
import { encodeSafetensors } from '../../engine/model/safetensors';
import { SPEC_LIMITS } from '../../engine/model/specCheck';
import { initTextWeights } from '../../engine/model/text';
import type { TextSpec, VitSpec } from '../../engine/model/types';
import { initVitWeights } from '../../engine/model/vit';
import { Rng } from '../../engine/rng';
import { ApiError } from '../../contract/api';
import { MAX_PREVIEW_SAMPLES, previewSamples } from './datasets';
import { RunManager } from '../manager';
import { parseConfig } from '../../engine/config';
import { validateRunConfig } from '../validate';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-hostile-'));
const write = (dir: string, rel: string, data: string | Uint8Array) => { fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true }); fs.writeFileSync(path.join(dir, rel), data); };
const fifo = (dir: string, rel: string) => { fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true }); execFileSync('mkfifo', [path.join(dir, rel)]); };

const textSpec: TextSpec = { arch: 'text', vocabSize: 40, maxLen: 16, seqLen: 12, padId: 0, dim: 16, depth: 1, heads: 2, mlpDim: 32, numClasses: 2, norm: 'pre', pooling: 'mean', pooler: false };
const vitSpec: VitSpec = { arch: 'vit', imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 1, heads: 2, mlpDim: 32, numClasses: 3 };
const texts = (n: number) => Array.from({ length: n }, (_, i) => `a ${['red', 'cat', 'blue', 'dog'][i % 4]} thing`);
const csv = (labels: (string | number)[]) => 'text,label\n' + labels.map((l, i) => `${texts(labels.length)[i]},${l}\n`).join('');

function textModel(dir: string, spec: unknown = textSpec, name = 'text.safetensors'): string {
  const tok = buildWordTokenizer(texts(8), textSpec.vocabSize);
  write(dir, name, encodeSafetensors(initTextWeights(textSpec, new Rng('w')), { 'fedlora.spec': JSON.stringify(spec), 'fedlora.tokenizer': JSON.stringify(tok) }));
  return name;
}
function vitModel(dir: string, spec: unknown = vitSpec, name = 'vit.safetensors'): string {
  write(dir, name, encodeSafetensors(initVitWeights(vitSpec, new Rng('w')), { 'fedlora.spec': JSON.stringify(spec) }));
  return name;
}

/** Issues of a config, timed: every hostile input must be answered, and quickly. */
function issues(input: Record<string, unknown>, dir: string): { path: string; message: string }[] {
  const t0 = Date.now();
  const r = validateRunConfig({ federation: { numClients: 2, clientsPerRound: 2 }, ...input }, dir);
  expect(Date.now() - t0).toBeLessThan(2000);
  return r.ok ? [] : r.issues;
}
const issueAt = (all: { path: string; message: string }[], p: string) => all.find((i) => i.path === p)?.message ?? `(no issue at ${p}: ${JSON.stringify(all)})`;

describe('hostile files given as the model or the dataset', () => {
  it('a FIFO as model.name or data.dataset is refused without opening it (it would block forever)', () => {
    const dir = tmp();
    textModel(dir);
    write(dir, 'ok.csv', csv(['a', 'b', 'a', 'b', 'a', 'b']));
    fifo(dir, 'pipe.safetensors');
    fifo(dir, 'pipe.csv');
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'pipe.safetensors' } }, dir), 'model.name'))
      .toMatch(/pipe\.safetensors is not a regular file \(a FIFO \(named pipe\)\): expected a \.safetensors model file/);
    expect(issueAt(issues({ data: { dataset: 'pipe.csv' }, model: { name: 'text.safetensors' } }, dir), 'data.dataset')).toMatch(/pipe\.csv is not a regular file \(a FIFO/);
    expect(issueAt(issues({ data: { dataset: 'pipe.csv', format: 'csv' }, model: { name: 'text.safetensors' } }, dir), 'data.dataset')).toMatch(/pipe\.csv is not a regular file \(a FIFO/);
  });

  it('a FIFO inside a dataset folder (train.csv, an image, an IDX file) or as the tokenizer or config.json is refused', () => {
    const dir = tmp();
    textModel(dir);
    vitModel(dir);
    write(dir, 'tab/test.csv', csv(['a', 'b']));
    fifo(dir, 'tab/train.csv');
    expect(issueAt(issues({ data: { dataset: 'tab' }, model: { name: 'text.safetensors' } }, dir), 'data.dataset')).toMatch(/tab\/train\.csv is not a regular file \(a FIFO/);
    for (const c of ['a', 'b']) write(dir, `imgs/${c}/0.png`, pngBytes(4, 4, () => [c === 'a' ? 0 : 255, 0, 0]));
    fifo(dir, 'imgs/b/1.png');
    expect(issueAt(issues({ data: { dataset: 'imgs' }, model: { name: 'vit.safetensors' } }, dir), 'data.dataset')).toMatch(/imgs\/b\/1\.png is not a regular file \(a FIFO/);
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte']) write(dir, `idx/${f}`, new Uint8Array(16));
    fifo(dir, 'idx/t10k-labels-idx1-ubyte');
    expect(issueAt(issues({ data: { dataset: 'idx' }, model: { name: 'vit.safetensors' } }, dir), 'data.dataset')).toMatch(/t10k-labels-idx1-ubyte is not a regular file \(a FIFO/);
    write(dir, 'ok.csv', csv(['a', 'b', 'a', 'b', 'a', 'b']));
    fifo(dir, 'tok.json');
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'text.safetensors', tokenizer: 'tok.json' } }, dir), 'model.tokenizer')).toMatch(/tok\.json is not a regular file \(a FIFO/);
    // a timm checkpoint reads config.json beside it for the heads
    write(dir, 'timm/vit.safetensors', encodeSafetensors(toTimmVit(vitSpec, initVitWeights(vitSpec, new Rng('w')))));
    fifo(dir, 'timm/config.json');
    write(dir, 'gray/a/0.png', pngBytes(8, 8, () => [0, 0, 0])); write(dir, 'gray/b/0.png', pngBytes(8, 8, () => [255, 255, 255]));
    expect(issueAt(issues({ data: { dataset: 'gray', testFraction: 0.5 }, model: { name: 'timm/vit.safetensors' } }, dir), 'model.heads')).toMatch(/config\.json is not a regular file \(a FIFO.*set model\.heads to skip it/);
  });

  it('/dev/zero and a folder as model.name, a safetensors header length of 2^40: issues at once, nothing read', () => {
    const dir = tmp();
    write(dir, 'ok.csv', csv(['a', 'b', 'a', 'b', 'a', 'b']));
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: '/dev/zero' } }, dir), 'model.name')).toMatch(/\/dev\/zero is not a regular file \(a character device\)/);
    fs.mkdirSync(path.join(dir, 'folder.safetensors'));
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'folder.safetensors' } }, dir), 'model.name')).toMatch(/folder\.safetensors is not a regular file \(a folder\)/);
    const lie = new Uint8Array(4096);
    new DataView(lie.buffer).setBigUint64(0, 2n ** 40n, true);
    write(dir, 'lie.safetensors', lie);
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'lie.safetensors' } }, dir), 'model.name')).toMatch(/lie\.safetensors: header length 1099511627776 exceeds the file \(4096 bytes\)/);
    expect(issueAt(issues({ data: { dataset: '/dev/zero', format: 'csv' } }, dir), 'data.dataset')).toMatch(/\/dev\/zero is not a regular file \(a character device\)/);
  });
});

describe('datasets that cannot train', () => {
  it('a one-class CSV, JSONL or image folder is refused at validation naming data.dataset, and no run directory is made', () => {
    const dir = tmp();
    textModel(dir);
    vitModel(dir);
    write(dir, 'one.csv', csv(['spam', 'spam', 'spam', 'spam', 'spam']));
    expect(issueAt(issues({ data: { dataset: 'one.csv' }, model: { name: 'text.safetensors' } }, dir), 'data.dataset')).toMatch(/one\.csv: needs at least 2 classes, found 1 \("spam"\)/);
    write(dir, 'one.jsonl', [7, 7, 7, 7].map((l, i) => JSON.stringify({ text: texts(4)[i], label: l })).join('\n'));
    expect(issueAt(issues({ data: { dataset: 'one.jsonl' }, model: { name: 'text.safetensors' } }, dir), 'data.dataset')).toMatch(/one\.jsonl: needs at least 2 classes, found 1 \("7"\)/);
    for (let i = 0; i < 4; i++) write(dir, `mono/only/${i}.png`, pngBytes(4, 4, () => [i, i, i]));
    expect(issueAt(issues({ data: { dataset: 'mono' }, model: { name: 'vit.safetensors' } }, dir), 'data.dataset')).toMatch(/mono: needs at least 2 classes, found 1 \("only"\)/);
    const runs = path.join(dir, 'runs');
    const m = new RunManager({ runsDir: runs, configBaseDir: dir });
    expect(() => m.create({ data: { dataset: 'one.csv' }, model: { name: 'text.safetensors' }, federation: { numClients: 2, clientsPerRound: 2 } })).toThrow(ApiError);
    expect(fs.readdirSync(runs).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('integer labels 0 and 1000000000 validate as two classes; a 200,000-row integer-label CSV validates', () => {
    const dir = tmp();
    textModel(dir);
    write(dir, 'far.csv', csv([0, 1000000000, 0, 1000000000, 0, 1000000000, 0, 1000000000, 0, 1000000000]));
    expect(issues({ data: { dataset: 'far.csv' }, model: { name: 'text.safetensors' } }, dir)).toEqual([]);
    const rows = Array.from({ length: 200_000 }, (_, i) => `t ${i},${i % 3}\n`).join('');
    write(dir, 'big.csv', `text,label\n${rows}`);
    const r = validateRunConfig({ data: { dataset: 'big.csv' }, model: { name: 'text.safetensors' } }, dir);
    expect(r.ok ? [] : r.issues).toEqual([]);
  });
});

describe('model specs out of bounds', () => {
  it('the issue\'s specs: patchSize 0, depth 1e6, dim -64 are model.name issues naming the file and the field', () => {
    const dir = tmp();
    for (const c of ['a', 'b']) for (let i = 0; i < 3; i++) write(dir, `imgs/${c}/${i}.png`, pngBytes(8, 8, () => [c === 'a' ? 0 : 255, i, 0]));
    const data = { dataset: 'imgs', testFraction: 0.34 };
    const cases: [Partial<VitSpec>, RegExp][] = [
      [{ patchSize: 0 }, /p0\.safetensors: the architecture in its "fedlora\.spec" metadata: spec\.patchSize must be an integer >= 1 dividing imageSize 8, got 0/],
      [{ depth: 1e6 }, /spec\.depth must be an integer in 1\.\.256, got 1000000/],
      [{ dim: -64 }, /spec\.dim must be an integer in 1\.\.8192, got -64/],
      [{ patchSize: 3 }, /spec\.patchSize must be an integer >= 1 dividing imageSize 8, got 3/],
      [{ heads: 5 }, /spec\.heads must be an integer >= 1 dividing dim 16, got 5/],
      [{ depth: 2 }, /missing tensor "blocks\.1\.ln1\.g" \(the spec needs shape \[16\]\)/],
      [{ dim: 32, heads: 2 }, /tensor "patch\.w" has shape \[16,16\], the spec needs \[16,32\]/],
    ];
    cases.forEach(([change, re], i) => {
      const name = i === 0 ? 'p0.safetensors' : `m${i}.safetensors`;
      vitModel(dir, { ...vitSpec, ...change }, name);
      const msg = issueAt(issues({ data, model: { name } }, dir), 'model.name');
      expect(msg).toMatch(re);
      expect(msg).toContain(path.join(dir, name));
    });
  });

  it('a timm checkpoint whose shapes give 4225 patches is refused (the spec of every format is checked)', () => {
    const dir = tmp();
    const wide: VitSpec = { ...vitSpec, imageSize: 65, patchSize: 1 };
    write(dir, 'wide.safetensors', encodeSafetensors(toTimmVit(wide, initVitWeights(wide, new Rng('w')))));
    for (const c of ['a', 'b']) write(dir, `imgs/${c}/0.png`, pngBytes(8, 8, () => [c === 'a' ? 0 : 255, 0, 0]));
    expect(issueAt(issues({ data: { dataset: 'imgs', testFraction: 0.5 }, model: { name: 'wide.safetensors', heads: 2 } }, dir), 'model.name'))
      .toMatch(/wide\.safetensors: the timm-vit architecture read from its tensor shapes: spec\.imageSize \/ spec\.patchSize gives 4225 patches, more than the 4096 accepted/);
  });

  it('a text spec with seqLen beyond maxLen or padId outside the vocabulary is refused', () => {
    const dir = tmp();
    write(dir, 'ok.csv', csv(['a', 'b', 'a', 'b', 'a', 'b']));
    textModel(dir, { ...textSpec, seqLen: 17 }, 'seq.safetensors');
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'seq.safetensors' } }, dir), 'model.name')).toMatch(/spec\.seqLen must be an integer in 1\.\.16, got 17/);
    textModel(dir, { ...textSpec, padId: -1 }, 'pad.safetensors');
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'pad.safetensors' } }, dir), 'model.name')).toMatch(/spec\.padId must be an integer in 0\.\.39, got -1/);
    textModel(dir, { ...textSpec, vocabSize: 2e6 }, 'vocab.safetensors');
    expect(issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'vocab.safetensors' } }, dir), 'model.name')).toMatch(/spec\.vocabSize must be an integer in 1\.\.1000000, got 2000000/);
  });

  it('property: a fedlora.spec with any field at or beyond its bound is a model.name issue naming that field', () => {
    const dir = tmp();
    for (const c of ['a', 'b']) for (let i = 0; i < 2; i++) write(dir, `imgs/${c}/${i}.png`, pngBytes(8, 8, () => [c === 'a' ? 0 : 255, i, 0]));
    const bounds: Record<string, [number, number]> = { imageSize: [1, SPEC_LIMITS.imageSize], patchSize: [1, 8], dim: [1, SPEC_LIMITS.dim], depth: [1, SPEC_LIMITS.depth], heads: [1, 16], mlpDim: [1, SPEC_LIMITS.mlpDim], numClasses: [1, SPEC_LIMITS.numClasses], channels: [1, 3] };
    const beyond = (lo: number, hi: number) => fc.constantFrom(lo - 1, hi + 1, 0, -64, 1.5, NaN, Infinity, 2 ** 53, 1e6 + hi, '4', null);
    const arb = fc.constantFrom(...Object.keys(bounds)).chain((k) => fc.tuple(fc.constant(k), beyond(...bounds[k])));
    let n = 0;
    fc.assert(fc.property(arb, ([k, v]) => {
      const name = `prop${n++}.safetensors`;
      vitModel(dir, { ...vitSpec, [k]: v }, name);
      const msg = issueAt(issues({ data: { dataset: 'imgs', testFraction: 0.5 }, model: { name } }, dir), 'model.name');
      expect(msg).toContain(path.join(dir, name));
      // the field itself, or the one its change breaks (patchSize for an imageSize it no longer divides, heads for a dim)
      expect(msg).toMatch(new RegExp(`spec\\.(${k}|patchSize|heads)`));
    }), { numRuns: 40 });
  });
});

describe('files that are not what the config says, and the preview', () => {
  const SECRET = 'SECRET-TOKEN-abc123';
  it('errors about them name the file, line and expectation, never their content', () => {
    const dir = tmp();
    textModel(dir);
    write(dir, 'passwd', `root:x:0:0:${SECRET}:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/sh\n`);
    const all = [
      ...issues({ data: { dataset: 'passwd', format: 'csv' }, model: { name: 'text.safetensors' } }, dir),
      ...issues({ data: { dataset: 'passwd', format: 'jsonl' }, model: { name: 'text.safetensors' } }, dir),
    ];
    expect(all.map((i) => i.path)).toEqual(['data.dataset', 'data.dataset']);
    expect(all[0].message).toMatch(/passwd: line 1: expected a CSV header naming the text and label columns/);
    expect(all[1].message).toMatch(/passwd: line 1: not valid JSON \(invalid JSON\); expected one JSON object per line/);
    write(dir, 'ok.csv', csv(['a', 'b', 'a', 'b', 'a', 'b']));
    write(dir, 'secret.json', `{"model": ${SECRET}}`);
    const tok = issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'text.safetensors', tokenizer: 'secret.json' } }, dir), 'model.tokenizer');
    expect(tok).toMatch(/secret\.json is not valid JSON \(invalid JSON\)/); // V8 gives no position for an unexpected token
    const header = new TextEncoder().encode(`{"${SECRET}": 1, oops}`);
    const st = new Uint8Array(8 + header.length); new DataView(st.buffer).setBigUint64(0, BigInt(header.length), true); st.set(header, 8);
    write(dir, 'secret.safetensors', st);
    const model = issueAt(issues({ data: { dataset: 'ok.csv' }, model: { name: 'secret.safetensors' } }, dir), 'model.name');
    expect(model).toMatch(/secret\.safetensors: header is not valid JSON \(invalid JSON at character \d+\)/);
    for (const m of [...all.map((i) => i.message), tok, model]) expect(m).not.toContain(SECRET);
  });

  it('the preview returns at most a few samples of bounded length, whatever the file holds or the caller asks', () => {
    const dir = tmp();
    textModel(dir);
    const long = 'word '.repeat(1000);
    write(dir, 'long.csv', 'text,label\n' + Array.from({ length: 2000 }, (_, i) => `${long}${i},${i % 2 ? 'b' : 'a'.repeat(500)}\n`).join(''));
    const m = new RunManager({ runsDir: path.join(dir, 'runs'), configBaseDir: dir });
    const p = m.preview({ data: { dataset: 'long.csv' }, model: { name: 'text.safetensors' }, federation: { numClients: 2, clientsPerRound: 2 } });
    expect(p.samples).toHaveLength(8);
    for (const s of p.samples) expect('text' in s && s.text.length).toBeLessThanOrEqual(303);
    expect(p.classNames.map((c) => c.length)).toEqual([103, 1]);
    expect(JSON.stringify(p).length).toBeLessThan(10_000);
    const cfg = parseConfig({ data: { dataset: path.join(dir, 'long.csv') } });
    expect(previewSamples(cfg, dir, 1e9).samples).toHaveLength(MAX_PREVIEW_SAMPLES);
    expect(previewSamples(cfg, dir, NaN).samples).toHaveLength(0);
  });
});
