/**
 * Datasets on disk (docs/data.md): IDX folders, class-per-folder PNG/JPEG images, CSV and JSONL
 * text tables. Finds a dataset's format and its train/test sources, checks it at config time
 * (columns, labels, at least 2 classes, empty classes, image files: regular files of bounded size,
 * PNG/JPEG by their first bytes) and loads it as the model's input rows.
 * Where a dataset has no test split, a fixed seeded permutation (the stream "data/test-split",
 * the same for every run seed) holds out data.testFraction of it; image folders are put in a fixed
 * seeded order ("data/order") so that data.trainSamples takes a mix of classes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigIssue, ExperimentConfig } from '../../engine/config';
import { DataFileError } from '../../engine/data/idx';
import { decodeImage, imageHeaderProblem, imagesToDataset, toModelPixels } from '../../engine/data/images';
import { mapLabels, readCsvTable, readJsonlTable, splitTable, type LabelMap, type TextTable } from '../../engine/data/table';
import { textDataset, tokenizeTexts } from '../../engine/data/text';
import type { ImageDataset } from '../../engine/data/types';
import type { PatchedDataset } from '../../engine/data/types';
import { patchDataset } from '../../engine/model/input';
import { Rng } from '../../engine/rng';
import { partition } from '../../engine/data/partition';
import { assertIdxFiles, assertRegularFile, checkIdxFolder, loadIdxFolder, readRegularFile, readRegularHead, type LoadedModel } from './models';
import { resolveDataset } from './resources';

export type DataFormat = 'idx' | 'image-folder' | 'csv' | 'jsonl';
type DataOptions = ExperimentConfig['data'];

/** Where a dataset's splits are: a file or folder each; test null = split off the training source. */
export interface LocatedDataset { format: DataFormat; train: string; test: string | null }

export const isTextFormat = (f: DataFormat) => f === 'csv' || f === 'jsonl';
const IMAGE_EXT = /\.(png|jpe?g)$/i;
const TABLE_EXT: Record<string, DataFormat> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };
/** Largest CSV/JSONL file read (256 MiB: a JavaScript string holds at most 2^29 characters). */
export const MAX_TABLE_BYTES = 256 * 2 ** 20;
/** Largest image file read (256 MiB). */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;
/** Most samples the preview returns (the form shows 8). */
export const MAX_PREVIEW_SAMPLES = 64;
/** Characters of a previewed text and of a previewed class name. */
const PREVIEW_TEXT_CHARS = 300, PREVIEW_NAME_CHARS = 100;

const subdirs = (dir: string) => fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();

/** The format and splits of a dataset path; throws a FieldError-like Error naming data.dataset or data.format. */
export function locateDataset(p: string, requested: DataOptions['format']): LocatedDataset {
  if (!fs.existsSync(p)) throw new Error(`data.dataset: no such file or folder ${p}`);
  const want = (f: DataFormat) => requested === 'auto' || requested === f;
  const st = fs.statSync(p);
  if (!st.isFile() && !st.isDirectory()) assertRegularFile(p, 'data.dataset', MAX_TABLE_BYTES, 'a .csv/.jsonl file or a dataset folder'); // a FIFO or device: throws naming it
  if (st.isFile()) {
    const byExt = TABLE_EXT[path.extname(p).toLowerCase()];
    const format = requested === 'csv' || requested === 'jsonl' ? requested : byExt;
    if (!format || !want(format)) throw new Error(`data.dataset: ${p} is a file, so it must be a .csv or .jsonl table (with data.format "csv" or "jsonl" for other extensions)`);
    return { format, train: p, test: null };
  }
  for (const f of ['csv', 'jsonl'] as const) {
    for (const ext of f === 'csv' ? ['.csv'] : ['.jsonl', '.ndjson']) {
      const train = path.join(p, `train${ext}`);
      if (fs.existsSync(train) && want(f)) {
        const test = path.join(p, `test${ext}`);
        return { format: f, train, test: fs.existsSync(test) ? test : null };
      }
    }
  }
  if (want('idx') && !checkIdxFolder(p).length) return { format: 'idx', train: p, test: p };
  if (want('image-folder')) {
    const trainDir = path.join(p, 'train');
    if (fs.existsSync(trainDir) && fs.statSync(trainDir).isDirectory() && subdirs(trainDir).length) {
      const testDir = path.join(p, 'test');
      return { format: 'image-folder', train: trainDir, test: fs.existsSync(testDir) ? testDir : null };
    }
    if (subdirs(p).length) return { format: 'image-folder', train: p, test: null };
  }
  if (requested === 'idx') throw new Error(`data.dataset: ${checkIdxFolder(p).join('; ')}`);
  throw new Error(`data.dataset: ${p} is not a dataset folder: expected IDX files, train.csv / train.jsonl (and test.*), or class folders of PNG/JPEG images (optionally under train/ and test/)${requested === 'auto' ? '' : ` in data.format "${requested}"`}`);
}

// ---- text ----------------------------------------------------------------------------------

/** A dataset needs two classes or more: one class trains nothing (and fails late, in oneHot). */
function requireClasses(where: string, classNames: string[]): void {
  if (classNames.length < 2) {
    throw new DataFileError(where, `needs at least 2 classes, found ${classNames.length}${classNames.length ? ` (${JSON.stringify(classNames[0].slice(0, 40))})` : ''}: a classifier learns to tell classes apart; add samples of another class`);
  }
}

function readTable(file: string, format: DataFormat, data: DataOptions): TextTable {
  const text = readRegularFile(file, 'data.dataset', MAX_TABLE_BYTES, `a ${format === 'csv' ? 'CSV' : 'JSONL'} table`).toString('utf8');
  const cols = { textColumn: data.textColumn, labelColumn: data.labelColumn };
  return format === 'csv' ? readCsvTable(text, file, cols) : readJsonlTable(text, file, cols);
}

/** Train and test tables of a located text dataset, with their class ids. */
export function loadTextSplits(loc: LocatedDataset, data: DataOptions): { train: TextTable; test: TextTable; labels: LabelMap } {
  let train = readTable(loc.train, loc.format, data), test: TextTable;
  if (loc.test) test = readTable(loc.test, loc.format, data);
  else {
    const order = new Rng('data/test-split').shuffle(Array.from({ length: train.texts.length }, (_, i) => i)) as number[];
    ({ train, test } = splitTable(train, order, data.testFraction));
  }
  const labels = mapLabels(train, [test]);
  requireClasses(loc.train, labels.classNames);
  return { train, test, labels };
}

// ---- image folders ---------------------------------------------------------------------------

export interface ImageFolder { classes: string[]; files: { file: string; label: number }[] }

/** Class folders (sorted names) of `dir` and their PNG/JPEG files; `classes` fixes the ids (a test folder uses the training classes). */
export function listImageFolder(dir: string, classes?: string[]): ImageFolder {
  const found = subdirs(dir);
  const cls = classes ?? found;
  const files: ImageFolder['files'] = [];
  for (const name of found) {
    const label = cls.indexOf(name);
    const folder = path.join(dir, name);
    if (label < 0) throw new DataFileError(folder, `class folder "${name}" is not among the training classes (${cls.join(', ')})`);
    const imgs = fs.readdirSync(folder).filter((f) => IMAGE_EXT.test(f)).sort();
    if (!imgs.length && !classes) throw new DataFileError(folder, `class "${name}" is empty: no .png/.jpg/.jpeg files; add images or remove the folder`);
    for (const f of imgs) files.push({ file: path.join(folder, f), label });
  }
  if (!files.length) throw new DataFileError(dir, 'no .png/.jpg/.jpeg files in its class folders');
  return { classes: cls, files };
}

/** Fixed seeded order of a file list (so the first N samples mix classes). */
function shuffled<T>(items: T[], stream: string): T[] {
  return (new Rng(stream).shuffle(Array.from({ length: items.length }, (_, i) => i)) as number[]).map((i) => items[i]);
}

function imageSplits(loc: LocatedDataset, testFraction: number): { classes: string[]; train: ImageFolder['files']; test: ImageFolder['files'] } {
  const tr = listImageFolder(loc.train);
  requireClasses(loc.train, tr.classes);
  let train = shuffled(tr.files, 'data/order'), test: ImageFolder['files'];
  if (loc.test) test = listImageFolder(loc.test, tr.classes).files;
  else {
    const nTest = Math.round(train.length * testFraction);
    if (nTest < 1 || nTest >= train.length) throw new DataFileError(loc.train, `${train.length} images cannot be split with data.testFraction ${testFraction}`);
    const perm = shuffled(train, 'data/test-split');
    test = perm.slice(perm.length - nTest); train = perm.slice(0, perm.length - nTest);
  }
  return { classes: tr.classes, train, test };
}

function readImages(files: ImageFolder['files'], limit: number | null, size: number, channels: number, classes: string[]): ImageDataset {
  const items = files.slice(0, limit ?? files.length).map(({ file, label }) => ({ file, bytes: readImageFile(file), label }));
  return imagesToDataset(items, size, channels, classes);
}

/** An image file's bytes: a regular file of at most MAX_IMAGE_FILE_BYTES (a FIFO would block the read). */
function readImageFile(file: string): Uint8Array {
  return new Uint8Array(readRegularFile(file, 'data.dataset', MAX_IMAGE_FILE_BYTES, 'a PNG or JPEG image'));
}

// ---- config-time checks and loading ------------------------------------------------------------

/** The config field a dataset problem belongs to (the column fields when a column is wrong). */
function issueFor(e: unknown): ConfigIssue {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^(data\.\w+): (.*)$/s.exec(msg);
  if (m) return { path: m[1], message: m[2] };
  const col = /set (data\.(?:textColumn|labelColumn))/.exec(msg);
  return { path: col ? col[1] : 'data.dataset', message: msg };
}

/** Problems of a config's dataset found without decoding images or tokenising (empty when fine). */
export function checkDataset(config: ExperimentConfig, baseDir: string): ConfigIssue[] {
  try {
    const loc = locateDataset(resolveDataset(config.data.dataset, baseDir), config.data.format);
    if (isTextFormat(loc.format)) loadTextSplits(loc, config.data);
    else if (loc.format === 'idx') assertIdxFiles(loc.train);
    else if (loc.format === 'image-folder') {
      const s = imageSplits(loc, config.data.testFraction);
      for (const f of [...s.train, ...s.test]) {
        // every file a regular one (a FIFO would block), its first bytes a PNG (of bounded size) or a JPEG
        const { head } = readRegularHead(f.file, 'data.dataset', 24, MAX_IMAGE_FILE_BYTES, 'a PNG or JPEG image');
        const problem = imageHeaderProblem(head);
        if (problem) throw new DataFileError(f.file, problem);
      }
    }
    return [];
  } catch (e) {
    return [issueFor(e)];
  }
}

export interface TaskData { train: PatchedDataset; test: PatchedDataset; classNames: string[]; notes: string[] }

/** A config's dataset as input rows for `model` (images resized to its input, texts tokenised to its seqLen). */
export function loadTaskData(config: ExperimentConfig, model: LoadedModel, baseDir: string): TaskData {
  const data = config.data;
  const loc = locateDataset(resolveDataset(data.dataset, baseDir), data.format);
  const spec = model.spec;
  const text = isTextFormat(loc.format);
  if (text !== (spec.arch === 'text')) {
    throw new Error(`data.dataset: a ${text ? 'text' : 'image'} dataset (${loc.format}) needs a${text ? ' text' : 'n image'} model, but model.name is a ${spec.arch} model (${model.file})`);
  }
  const notes: string[] = [];
  if (spec.arch === 'text') {
    const { train, test, labels } = loadTextSplits(loc, data);
    const tok = model.tokenizer!.tok;
    const limit = (t: TextTable, n: number | null) => ({ texts: t.texts.slice(0, n ?? t.texts.length), lines: t.lines });
    const rows = (t: TextTable, y: Int32Array, n: number | null) => {
      const { texts, lines } = limit(t, n);
      const enc = tokenizeTexts(tok, texts, spec.seqLen, spec.padId);
      const bad = enc.ids.findIndex((v) => v >= spec.vocabSize);
      if (bad >= 0) throw new Error(`model.tokenizer: ${model.tokenizer!.source} gives token id ${enc.ids[bad]} (${t.file} line ${lines[Math.floor(bad / spec.seqLen)]}) but the model has ${spec.vocabSize} embeddings: this tokenizer does not belong to the model`);
      notes.push(`${t.file}: ${texts.length} texts, ${(enc.tokens / Math.max(texts.length, 1)).toFixed(1)} tokens each on average, ${enc.truncated} cut at ${spec.seqLen} tokens, ${(100 * enc.unknown / Math.max(enc.tokens, 1)).toFixed(1)}% unknown tokens`);
      return textDataset(enc.ids, y.slice(0, texts.length), spec.seqLen, labels.classNames.length);
    };
    return { train: rows(train, labels.ids[0], data.trainSamples), test: rows(test, labels.ids[1], data.testSamples), classNames: labels.classNames, notes };
  }
  if (loc.format === 'idx') {
    const { train, test } = loadIdxFolder(loc.train);
    return {
      train: patchDataset(train, spec, data.trainSamples ?? train.n), test: patchDataset(test, spec, data.testSamples ?? test.n),
      classNames: Array.from({ length: train.numClasses }, (_, i) => String(i)), notes,
    };
  }
  const s = imageSplits(loc, data.testFraction);
  const train = readImages(s.train, data.trainSamples, spec.imageSize, spec.channels, s.classes);
  const test = readImages(s.test, data.testSamples, spec.imageSize, spec.channels, s.classes);
  notes.push(`${loc.train}: ${train.n} training and ${test.n} test images in ${s.classes.length} classes, resized to ${spec.imageSize}x${spec.imageSize}x${spec.channels}`);
  return { train: patchDataset(train, spec), test: patchDataset(test, spec), classNames: s.classes, notes };
}

/** The run's partition of its training labels: the stream (seed, "partition"), the same in every tool. */
export function configPartition(config: ExperimentConfig, labels: Int32Array, numClasses: number): Int32Array[] {
  const f = config.federation;
  return partition(f.partition, labels, f.numClients, numClasses, Rng.fromSeed(config.seed).child('partition'));
}

/** Training labels of a config's dataset (first data.trainSamples) without a model: what the simulated clock needs. */
export function loadTrainLabels(config: ExperimentConfig, baseDir: string): { labels: Int32Array; numClasses: number } {
  const data = config.data;
  const loc = locateDataset(resolveDataset(data.dataset, baseDir), data.format);
  let labels: Int32Array, numClasses: number;
  if (isTextFormat(loc.format)) {
    const t = loadTextSplits(loc, data);
    labels = t.labels.ids[0]; numClasses = t.labels.classNames.length;
  } else if (loc.format === 'idx') {
    const { train } = loadIdxFolder(loc.train);
    labels = train.labels; numClasses = train.numClasses;
  } else {
    const s = imageSplits(loc, data.testFraction);
    labels = Int32Array.from(s.train, (f) => f.label); numClasses = s.classes.length;
  }
  return { labels: labels.slice(0, Math.min(data.trainSamples ?? labels.length, labels.length)), numClasses };
}

// ---- preview (the app's new-run form) --------------------------------------------------------

export type PreviewSample =
  | { label: number; text: string }
  | { label: number; image: { width: number; height: number; channels: number; pixels: number[] } };

/** A text cut to `max` characters (not inside a surrogate pair), marked when cut. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const end = s.charCodeAt(max - 1) >= 0xd800 && s.charCodeAt(max - 1) <= 0xdbff ? max - 1 : max;
  return `${s.slice(0, end)}...`;
}

/**
 * The first `n` training samples as the user sees them (raw text, cut at 300 characters, or images
 * at their stored size, up to 64 px): at most MAX_PREVIEW_SAMPLES whatever `n`, never a whole file.
 * Class names are cut at 100 characters.
 */
export function previewSamples(config: ExperimentConfig, baseDir: string, n: number): { format: DataFormat; classNames: string[]; samples: PreviewSample[] } {
  n = Math.max(0, Math.min(Math.floor(n) || 0, MAX_PREVIEW_SAMPLES));
  const names = (c: string[]) => c.map((x) => cut(x, PREVIEW_NAME_CHARS));
  const data = config.data;
  const loc = locateDataset(resolveDataset(data.dataset, baseDir), data.format);
  if (isTextFormat(loc.format)) {
    const t = loadTextSplits(loc, data);
    const samples = t.train.texts.slice(0, n).map((text, i) => ({ label: t.labels.ids[0][i], text: cut(text, PREVIEW_TEXT_CHARS) }));
    return { format: loc.format, classNames: names(t.labels.classNames), samples };
  }
  if (loc.format === 'idx') {
    const { train } = loadIdxFolder(loc.train);
    const per = train.height * train.width * train.channels;
    const samples = Array.from({ length: Math.min(n, train.n) }, (_, i) => ({
      label: train.labels[i],
      image: { width: train.width, height: train.height, channels: train.channels, pixels: Array.from(train.pixels.subarray(i * per, (i + 1) * per)) },
    }));
    return { format: 'idx', classNames: train.classNames ?? Array.from({ length: train.numClasses }, (_, c) => String(c)), samples };
  }
  const s = imageSplits(loc, data.testFraction);
  const samples = s.train.slice(0, n).map(({ file, label }) => {
    const img = decodeImage(readImageFile(file), file);
    const size = Math.min(64, Math.max(img.width, img.height));
    return { label, image: { width: size, height: size, channels: 3, pixels: Array.from(toModelPixels(img, size, 3)) } };
  });
  return { format: 'image-folder', classNames: names(s.classes), samples };
}
