/**
 * Where shipped data and models live, and how config names and paths resolve. Shipped items are
 * named in configs ("fashion-mnist", "vit-fmnist-base"); anything else is a path relative to the
 * config file's folder.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeSafetensors } from '../../engine/model/safetensors';
import type { VitSpec } from '../../engine/model/types';
import { initVitWeights, VIT_TINY_28 } from '../../engine/model/vit';
import { Rng } from '../../engine/rng';
import { writeFileAtomic } from '../runs/fsutil';

/** The `resources/` folder: FEDLORA_RESOURCES, Electron's resourcesPath, or the repo's. */
export function resourcesDir(): string {
  if (process.env.FEDLORA_RESOURCES) return path.resolve(process.env.FEDLORA_RESOURCES);
  const electronRes = (process as { resourcesPath?: string }).resourcesPath;
  if (electronRes && fs.existsSync(path.join(electronRes, 'resources', 'models'))) return path.join(electronRes, 'resources');
  // walk up from this file to the folder holding package.json (works from src/ and out/)
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'resources'))) return path.join(dir, 'resources');
    dir = path.dirname(dir);
  }
  return path.resolve('resources');
}

/** A name table without a prototype: a config value like "valueOf" or "__proto__" is not a shipped name. */
const names = (o: Record<string, string>): Record<string, string> => Object.assign(Object.create(null) as Record<string, string>, o);

export const SHIPPED_DATASETS = names({ 'fashion-mnist': 'data/fashion-mnist', 'wordnet-nouns': 'data/wordnet-nouns' });
export const SHIPPED_MODELS = names({
  'vit-fmnist-base': 'models/vit-fmnist-base.safetensors',
  'text-wordnet-base': 'models/text-wordnet-base.safetensors',
});

/**
 * Shipped model names whose weights are not in the repository (too large for it) but made from a
 * fixed seed on first use: `vit-tiny-random` is the ViT-Tiny shape with random weights (no
 * pretraining; for speed and scale studies on a GPU, not for accuracy). The file is written once
 * to the user's cache folder (FEDLORA_CACHE, else the OS temp folder) and then read like any other.
 */
export const GENERATED_MODELS = Object.assign(Object.create(null) as Record<string, { spec: VitSpec; seed: string }>, {
  'vit-tiny-random': { spec: VIT_TINY_28, seed: 'vit-tiny-random' },
});

function generatedModelFile(name: string): string {
  const { spec, seed } = GENERATED_MODELS[name];
  return randomModelFile(name, spec, seed);
}

/**
 * A model of `spec` with random weights from `seed`, written once to the cache folder
 * (FEDLORA_CACHE, else the OS temp folder; the file name holds a hash of spec and seed) and then
 * read like any other.
 */
export function randomModelFile(name: string, spec: VitSpec, seed: string): string {
  const dir = path.resolve(process.env.FEDLORA_CACHE ?? path.join(os.tmpdir(), 'fedlora-cache'));
  const file = path.join(dir, `${name}-${crypto.createHash('sha256').update(JSON.stringify([spec, seed])).digest('hex').slice(0, 12)}.safetensors`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const card = { name, note: 'random weights from a fixed seed (no pretraining): for speed and scale studies, not accuracy' };
    writeFileAtomic(file, encodeSafetensors(initVitWeights(spec, new Rng(seed)), { 'fedlora.spec': JSON.stringify(spec), 'fedlora.card': JSON.stringify(card) }));
  }
  return file;
}

/** The command that rebuilds a missing shipped item. */
export const REBUILD = names({
  'fashion-mnist': 'npm run build-data', 'wordnet-nouns': 'npm run build-text-data',
  'vit-fmnist-base': 'npm run pretrain', 'text-wordnet-base': 'npm run pretrain-text',
});

/** Resolve a dataset name or path; `baseDir` is the config file's folder. */
export function resolveDataset(name: string, baseDir: string): string {
  if (SHIPPED_DATASETS[name]) return path.join(resourcesDir(), SHIPPED_DATASETS[name]);
  return path.resolve(baseDir, name);
}

export function resolveModel(name: string, baseDir: string): string {
  if (SHIPPED_MODELS[name]) return path.join(resourcesDir(), SHIPPED_MODELS[name]);
  if (GENERATED_MODELS[name]) return generatedModelFile(name);
  return path.resolve(baseDir, name);
}

/** Resolve a user path (e.g. model.tokenizer) against the config file's folder. */
export function resolveUserPath(p: string, baseDir: string): string {
  return path.resolve(baseDir, p);
}
