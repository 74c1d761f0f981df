/**
 * Load the models named in a config from disk (names resolved by resources.ts): our own
 * safetensors files (metadata `fedlora.spec`), timm ViT/DeiT and Hugging Face BERT checkpoints
 * through the engine's name maps, and text models' tokenizers. Datasets: datasets.ts (IDX folders
 * stay here for the scripts and benchmarks that read them directly). Every file a config names is
 * read through readRegularFile: regular files only (a FIFO blocks a read, /dev/zero never ends) and
 * of bounded size; every model's architecture passes checkModelSpec before anything is built.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tokenizer } from '@huggingface/tokenizers';
import type { ExperimentConfig } from '../../engine/config';
import { loadIdxImageDataset, MAX_IDX_BYTES } from '../../engine/data/idx';
import { describeJsonError } from '../../engine/data/table';
import { loadTokenizer, padIdOf } from '../../engine/data/text';
import type { ImageDataset } from '../../engine/data/types';
import { detectFormat, fromHfBert, fromTimmVit, type CheckpointFormat } from '../../engine/model/checkpoints';
import { ModelFileError, parseSafetensors, safetensorsHeaderLength } from '../../engine/model/safetensors';
import { checkModelSpec } from '../../engine/model/specCheck';
import type { ModelSpec, WeightMap } from '../../engine/model/types';
import { memo, type Memo } from './memo';
import { resolveModel, resolveUserPath } from './resources';

const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Path of an IDX file in `dir`, gzipped or not; null when absent. */
function findIdx(dir: string, base: string): string | null {
  for (const f of [base + '.gz', base]) if (fs.existsSync(path.join(dir, f))) return path.join(dir, f);
  return null;
}

/** The four IDX files of a folder that has them (checkIdxFolder empty), each checked to be a regular file of bounded size. */
export function assertIdxFiles(dir: string): void {
  for (const b of Object.values(IDX_FILES)) assertRegularFile(findIdx(dir, b)!, 'data.dataset', MAX_IDX_FILE_BYTES, 'an IDX file');
}

/** Problems that make `dir` unusable as an IDX dataset folder (empty when fine). */
export function checkIdxFolder(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [`no such folder ${dir}`];
  return Object.values(IDX_FILES).filter((b) => !findIdx(dir, b)).map((b) => `${dir} has no ${b}(.gz)`);
}

export function loadIdxFolder(dir: string, numClasses = 10): { train: ImageDataset; test: ImageDataset } {
  const problems = checkIdxFolder(dir);
  if (problems.length) throw new Error(`data.dataset: ${problems.join('; ')}`);
  const read = (b: string) => { const f = findIdx(dir, b)!; return { file: f, bytes: new Uint8Array(readRegularFile(f, 'data.dataset', MAX_IDX_FILE_BYTES, 'an IDX file')) }; };
  const load = (img: string, lab: string) => {
    const i = read(img), l = read(lab);
    return loadIdxImageDataset(i.bytes, l.bytes, { images: i.file, labels: l.file }, numClasses);
  };
  return { train: load(IDX_FILES.trainImages, IDX_FILES.trainLabels), test: load(IDX_FILES.testImages, IDX_FILES.testLabels) };
}

export interface LoadedModel {
  spec: ModelSpec;
  weights: WeightMap;
  metadata: Record<string, string>;
  file: string;
  format: CheckpointFormat;
  /** Text models: the tokenizer and where it came from. */
  tokenizer?: { tok: Tokenizer; source: string };
  /** What the loader decided or skipped (logged by the runner). */
  notes: string[];
}

export interface ModelOptions {
  format?: 'auto' | CheckpointFormat;
  heads?: number | null;
  /** Absolute path of a tokenizer.json. */
  tokenizer?: string | null;
  seqLen?: number | null;
  pixelMean?: number[] | null;
  pixelStd?: number[] | null;
}

/** An error about a config field other than model.name (validation files it under that path). */
export class FieldError extends Error {
  constructor(readonly path: string, message: string) { super(`${path}: ${message}`); this.name = 'FieldError'; }
}

// ---- reading files from config paths: regular files only, of bounded size ----------------------

/** Largest model file read: 4 GiB (Node's Buffer limit; a 500M-parameter model is 2 GB in F32). */
export const MAX_MODEL_FILE_BYTES = Math.min(4 * 2 ** 30, bufferConstants.MAX_LENGTH);
/** Largest tokenizer.json / config.json read (64 MiB; BERT's tokenizer.json is 0.7 MB). */
export const MAX_JSON_FILE_BYTES = 64 * 2 ** 20;
/** Largest IDX file read (gzipped files also inflate to at most this). */
export const MAX_IDX_FILE_BYTES = MAX_IDX_BYTES;

const kindOf = (st: fs.Stats) => st.isFIFO() ? 'a FIFO (named pipe)' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device'
  : st.isSocket() ? 'a socket' : st.isDirectory() ? 'a folder' : 'not a plain file';

function refuseStat(st: fs.Stats, p: string, field: string, maxBytes: number, what: string): void {
  if (!st.isFile()) throw new FieldError(field, `${p} is not a regular file (${kindOf(st)}): expected ${what}`);
  if (st.size > maxBytes) throw new FieldError(field, `${p} is ${st.size} bytes, more than the ${maxBytes} accepted for ${what}`);
}

/**
 * Check that `p` is a regular file of at most `maxBytes` without opening it: reading a FIFO blocks
 * until someone writes, a device (/dev/zero) never ends. Throws a FieldError naming `field`.
 */
export function assertRegularFile(p: string, field: string, maxBytes: number, what: string): number {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) throw new FieldError(field, `no such file ${p}`);
  refuseStat(st, p, field, maxBytes, what);
  return st.size;
}

/** Open a regular file for reading: stat first, then open non-blocking and check the opened file again (it may have been swapped). */
function openRegular(p: string, field: string, maxBytes: number, what: string): { fd: number; size: number } {
  assertRegularFile(p, field, maxBytes, what);
  let fd: number;
  try { fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); } catch (e) { throw new FieldError(field, `${p}: unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  try {
    const st = fs.fstatSync(fd);
    refuseStat(st, p, field, maxBytes, what);
    return { fd, size: st.size };
  } catch (e) { fs.closeSync(fd); throw e; }
}

/** The bytes of a regular file of at most `maxBytes` (FieldError naming `field` otherwise). */
export function readRegularFile(p: string, field: string, maxBytes: number, what: string): Buffer {
  const { fd } = openRegular(p, field, maxBytes, what);
  try { return fs.readFileSync(fd); } finally { fs.closeSync(fd); }
}

/** The first `n` bytes (fewer when the file is shorter) of a regular file of at most `maxBytes`, and its size. */
export function readRegularHead(p: string, field: string, n: number, maxBytes: number, what: string): { head: Buffer; size: number } {
  const { fd, size } = openRegular(p, field, maxBytes, what);
  try {
    const head = Buffer.alloc(Math.min(n, size));
    const got = fs.readSync(fd, head, 0, head.length, 0);
    return { head: head.subarray(0, got), size };
  } finally { fs.closeSync(fd); }
}

/** Attention heads from a config.json beside a checkpoint (HF: num_attention_heads; timm: num_heads). */
function headsBeside(file: string): number | null {
  const cfg = path.join(path.dirname(file), 'config.json');
  if (!fs.existsSync(cfg)) return null;
  const text = readRegularFile(cfg, 'model.heads', MAX_JSON_FILE_BYTES, 'a config.json beside the checkpoint (read for the number of attention heads; set model.heads to skip it)').toString('utf8');
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const h = j.num_attention_heads ?? j.num_heads ?? (j.model_args as Record<string, unknown> | undefined)?.num_heads;
    return typeof h === 'number' && Number.isInteger(h) && h > 0 ? h : null;
  } catch { return null; }
}

function readTokenizer(file: string, opts: ModelOptions, metadata: Record<string, string>): { tok: Tokenizer; json: Record<string, unknown>; source: string } {
  let json: unknown, source: string;
  if (opts.tokenizer) {
    source = opts.tokenizer;
    if (!fs.existsSync(source)) throw new FieldError('model.tokenizer', `no such file ${source}`);
    const text = readRegularFile(source, 'model.tokenizer', MAX_JSON_FILE_BYTES, 'a tokenizer.json').toString('utf8');
    try { json = JSON.parse(text); } catch (e) { throw new FieldError('model.tokenizer', `${source} is not valid JSON (${describeJsonError(e)}); truncated file?`); }
  } else if (metadata['fedlora.tokenizer']) {
    source = `${file} (embedded tokenizer)`;
    try { json = JSON.parse(metadata['fedlora.tokenizer']); } catch { throw new ModelFileError(file, '"fedlora.tokenizer" metadata is not valid JSON'); }
  } else {
    source = path.join(path.dirname(file), 'tokenizer.json');
    if (!fs.existsSync(source)) throw new FieldError('model.tokenizer', `the text model ${file} has no tokenizer inside and no tokenizer.json beside it; set model.tokenizer to its tokenizer.json`);
    const text = readRegularFile(source, 'model.tokenizer', MAX_JSON_FILE_BYTES, 'a tokenizer.json').toString('utf8');
    try { json = JSON.parse(text); } catch (e) { throw new FieldError('model.tokenizer', `${source} is not valid JSON (${describeJsonError(e)})`); }
  }
  return { tok: loadTokenizer(json, source), json: json as Record<string, unknown>, source };
}

/**
 * The bytes of a model file: a regular file (not a FIFO or device: /dev/zero would never end) of at
 * most MAX_MODEL_FILE_BYTES, whose safetensors header length fits the file, checked on its first 8
 * bytes before the rest is read.
 */
function readModelBytes(file: string): Uint8Array {
  const { head, size } = readRegularHead(file, 'model.name', 8, MAX_MODEL_FILE_BYTES, 'a .safetensors model file');
  safetensorsHeaderLength(head, size, file);
  return new Uint8Array(readRegularFile(file, 'model.name', MAX_MODEL_FILE_BYTES, 'a .safetensors model file'));
}

/** A spec's problems as one ModelFileError (checkModelSpec: bounds, divisibility, tensors, parameter count). */
function requireSpec(spec: unknown, weights: WeightMap | undefined, file: string, from: string): asserts spec is ModelSpec {
  const problems = checkModelSpec(spec, weights);
  if (problems.length) throw new ModelFileError(file, `${from}: ${problems.join('; ')}`);
}

/** Read a model file: our format (metadata `fedlora.spec`), or a timm ViT / HF BERT checkpoint through its name map. */
export function loadModelFile(file: string, opts: ModelOptions = {}): LoadedModel {
  if (!fs.existsSync(file)) throw new Error(`model.name: no such file ${file}`);
  const parsed = parseSafetensors(readModelBytes(file), file, { nonFloat: 'skip' });
  const { metadata, skipped } = parsed;
  const detected = detectFormat(Object.keys(parsed.tensors), metadata);
  const format = opts.format && opts.format !== 'auto' ? opts.format : detected;
  if (!format) throw new ModelFileError(file, 'neither our metadata ("fedlora.spec") nor timm ViT nor Hugging Face BERT tensor names: see docs/models.md for the supported checkpoints');
  const notes: string[] = [];
  let spec: ModelSpec, weights: WeightMap;
  if (format === 'fedlora') {
    const specText = metadata['fedlora.spec'];
    if (!specText) throw new ModelFileError(file, 'metadata has no "fedlora.spec" (the architecture); set model.format to timm-vit or hf-bert for foreign checkpoints (docs/models.md)');
    let raw: unknown;
    try { raw = JSON.parse(specText); } catch { throw new ModelFileError(file, '"fedlora.spec" metadata is not valid JSON'); }
    const bad = Object.entries(skipped)[0];
    if (bad) throw new ModelFileError(file, `tensor "${bad[0]}" has dtype ${bad[1]}; our model files hold float tensors only`);
    requireSpec(raw, parsed.tensors, file, 'the architecture in its "fedlora.spec" metadata');
    spec = raw; weights = parsed.tensors;
  } else {
    const heads = opts.heads ?? headsBeside(file);
    const conv = format === 'timm-vit'
      ? fromTimmVit(parsed.tensors, file, { heads, skipped })
      : fromHfBert(parsed.tensors, file, { heads, skipped, seqLen: opts.seqLen });
    requireSpec(conv.spec, conv.weights, file, `the ${format} architecture read from its tensor shapes`);
    spec = conv.spec; weights = conv.weights;
    notes.push(`${file}: ${format} checkpoint, ${spec.depth} blocks, dim ${spec.dim}, ${spec.heads} heads${opts.heads ? '' : heads ? ' (config.json)' : ' (dim / 64)'}`);
    const ignored = [...conv.ignored, ...Object.keys(skipped).filter((n) => !n.endsWith('position_ids'))];
    if (ignored.length) notes.push(`${file}: ${ignored.length} tensor(s) not used by the name map: ${ignored.slice(0, 5).join(', ')}${ignored.length > 5 ? ', ...' : ''}`);
  }
  let tokenizer: LoadedModel['tokenizer'];
  if (spec.arch === 'text') {
    const t = readTokenizer(file, opts, metadata);
    tokenizer = { tok: t.tok, source: t.source };
    if (format === 'hf-bert') spec = { ...spec, padId: padIdOf(t.tok, t.json, t.source) };
    if (opts.seqLen) {
      if (opts.seqLen > spec.maxLen) throw new FieldError('data.seqLen', `${opts.seqLen} tokens but the model has ${spec.maxLen} positions; use at most ${spec.maxLen}`);
      spec = { ...spec, seqLen: opts.seqLen };
    }
  } else if (opts.pixelMean && opts.pixelStd) {
    if (opts.pixelMean.length !== spec.channels) throw new FieldError('model.pixelMean', `${opts.pixelMean.length} values for a ${spec.channels}-channel model; give one per channel`);
    spec = { ...spec, pixelMean: opts.pixelMean, pixelStd: opts.pixelStd };
  }
  requireSpec(spec, undefined, file, 'with the tokenizer and config applied'); // padId from the tokenizer, seqLen, pixel normalisation
  return { spec, weights, metadata, file, format, tokenizer, notes };
}

/**
 * Identity of a file or folder on disk: path, size and modification time, and for a folder those
 * of its entries down to `depth` levels (an image folder's split and class folders change their
 * times when files are added or removed). Keys the memos of things read from disk.
 */
export function fileKey(p: string | null | undefined, depth = 0): string {
  if (!p) return `${p}`;
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return `${p}:missing`;
  let out = `${p}:${st.size}:${st.mtimeMs}`;
  if (st.isDirectory() && depth > 0) {
    for (const name of fs.readdirSync(p).sort()) out += `|${fileKey(path.join(p, name), depth - 1)}`;
  }
  return out;
}

const specMemo: Memo<{ spec: ModelSpec }> = new Map();

/**
 * The spec of a model file, read once per version of the file and of what is read beside it
 * (tokenizer.json, config.json) and per options: the app's form validates on every edit. A file
 * that fails to load fails the same way again from the memo. `fresh`: this call read the file.
 */
export function modelSpecMemo(file: string, opts: ModelOptions): { spec: ModelSpec; fresh: boolean } {
  const beside = (f: string) => fileKey(path.join(path.dirname(file), f));
  const key = JSON.stringify([fileKey(file), fileKey(opts.tokenizer), beside('tokenizer.json'), beside('config.json'), opts]);
  const { value, fresh } = memo(specMemo, key, () => ({ spec: loadModelFile(file, opts).spec }), 16);
  return { spec: value.spec, fresh };
}

/** Model options of a config (user paths resolved against the config file's folder). */
export function modelOptions(config: ExperimentConfig, baseDir: string): ModelOptions {
  const m = config.model;
  return { format: m.format, heads: m.heads, tokenizer: m.tokenizer ? resolveUserPath(m.tokenizer, baseDir) : null, seqLen: config.data.seqLen, pixelMean: m.pixelMean, pixelStd: m.pixelStd };
}

/** The model of a config. */
export function loadModel(config: ExperimentConfig, baseDir: string): LoadedModel {
  return loadModelFile(resolveModel(config.model.name, baseDir), modelOptions(config, baseDir));
}
