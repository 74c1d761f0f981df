/**
 * Where shipped data and models live, and how config names and paths resolve. Shipped items are
 * named in configs ("fashion-mnist", "vit-fmnist-base"); anything else is a path relative to the
 * config file's folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

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
  return path.resolve(baseDir, name);
}

/** Resolve a user path (e.g. model.tokenizer) against the config file's folder. */
export function resolveUserPath(p: string, baseDir: string): string {
  return path.resolve(baseDir, p);
}
