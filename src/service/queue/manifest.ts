/**
 * The files a run reads (model, tokenizer, dataset) with their SHA-256: the coordinator lists them
 * in the run record; a worker lists its own copies the same way (shipped names resolve to its own
 * resources folder, paths are taken as they are) and refuses the run, naming the file, when any
 * differs. Code never travels: a worker runs its own installed version of the project.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExperimentConfig } from '../../engine/config';
import { fileKey } from '../data/models';
import { resolveDataset, resolveModel, resolveUserPath } from '../data/resources';
import { MAX_MANIFEST_FILES, type ManifestEntry } from './jobs';

type Field = ManifestEntry['field'];
interface Located { field: Field; base: string; rel: string }

const hashCache = new Map<string, string>();

/** SHA-256 of a file, remembered per (path, size, mtime). */
export function fileSha256(file: string): string {
  const key = fileKey(file);
  const hit = hashCache.get(key);
  if (hit) return hit;
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally { fs.closeSync(fd); }
  const digest = h.digest('hex');
  if (hashCache.size > 100_000) hashCache.clear();
  hashCache.set(key, digest);
  return digest;
}

function walk(base: string, rel: string, out: string[], depth: number): void {
  for (const e of fs.readdirSync(path.join(base, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    const st = fs.statSync(path.join(base, r), { throwIfNoEntry: false });
    if (st?.isDirectory() && depth > 0) walk(base, r, out, depth - 1);
    else if (st?.isFile()) out.push(r);
    if (out.length > MAX_MANIFEST_FILES) throw new Error(`data.dataset: more than ${MAX_MANIFEST_FILES} files under ${base}; too many to check for a queued run`);
  }
}

/** A file or every plain file under a folder (4 levels), as (base, rel) pairs. */
function locate(field: Field, p: string): Located[] {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return [];
  if (!st.isDirectory()) return [{ field, base: path.dirname(p), rel: path.basename(p) }];
  const rels: string[] = [];
  walk(p, '', rels, 4);
  return rels.map((rel) => ({ field, base: p, rel }));
}

/** Where this machine's copies of a run's files are: model file (+ tokenizer.json / config.json beside it), tokenizer, dataset. */
function runFiles(config: ExperimentConfig): Located[] {
  const model = resolveModel(config.model.name, '/');
  const out = locate('model.name', model);
  for (const beside of ['config.json', 'tokenizer.json']) {
    if (fs.existsSync(path.join(path.dirname(model), beside))) out.push({ field: 'model.name', base: path.dirname(model), rel: beside });
  }
  if (config.model.tokenizer) out.push(...locate('model.tokenizer', resolveUserPath(config.model.tokenizer, '/')));
  out.push(...locate('data.dataset', resolveDataset(config.data.dataset, '/')));
  return out;
}

/** The manifest of a run's files on this machine. */
export function runManifest(config: ExperimentConfig): ManifestEntry[] {
  return runFiles(config).map(({ field, base, rel }) => {
    const f = path.join(base, rel);
    return { field, rel, size: fs.statSync(f).size, sha256: fileSha256(f) };
  });
}

/**
 * Compare the coordinator's manifest with this machine's copies: one line per differing, missing
 * or extra file, naming it (empty when all agree). Sizes are compared first, so a copy of another
 * size is not hashed.
 */
export function manifestProblems(config: ExperimentConfig, expected: ManifestEntry[]): string[] {
  const mine = new Map(runFiles(config).map((l) => [`${l.field}\u0000${l.rel}`, l]));
  const problems: string[] = [];
  for (const e of expected) {
    const k = `${e.field}\u0000${e.rel}`;
    const l = mine.get(k);
    mine.delete(k);
    if (!l) { problems.push(`${e.field}: ${e.rel} is missing on this worker (the coordinator has it, sha256 ${e.sha256.slice(0, 12)}...)`); continue; }
    const f = path.join(l.base, l.rel);
    const size = fs.statSync(f).size;
    const sha = size === e.size ? fileSha256(f) : null;
    if (sha !== e.sha256) problems.push(`${e.field}: ${f} differs from the coordinator's copy (${sha ? `sha256 ${sha.slice(0, 12)}... here` : `${size} bytes here`}, ${size === e.size ? `sha256 ${e.sha256.slice(0, 12)}...` : `${e.size} bytes`} there)`);
  }
  for (const l of mine.values()) problems.push(`${l.field}: ${path.join(l.base, l.rel)} is on this worker but not in the coordinator's copy`);
  return problems;
}
