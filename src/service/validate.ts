/**
 * Config validation for the service: the engine's schema, plus checks that need the disk: the
 * dataset (format, columns, labels, empty classes, image files; datasets.ts) and the model file
 * (readable, a known name map, tensor shapes and dtypes, tokenizer), and that the two fit. User
 * paths resolve against the config file's folder and are written back absolute, so a run
 * directory's config.json is self-contained.
 */
import * as fs from 'node:fs';
import { ApiError } from '../contract/api';
import { validateConfig, type ConfigIssue, type ExperimentConfig } from '../engine/config';
import { checkDataset, isTextFormat, locateDataset } from './data/datasets';
import { FieldError, modelOptions, modelSpecMemo } from './data/models';
import { checkLatencyBudget, partitionMemo } from './clock/inputs';
import { GENERATED_MODELS, REBUILD, resolveDataset, resolveModel, resolveUserPath, SHIPPED_DATASETS, SHIPPED_MODELS } from './data/resources';

export type ValidationResult = { ok: true; config: ExperimentConfig } | { ok: false; issues: ConfigIssue[] };

/** The model's architecture (read once per file version, `modelSpecMemo`), or the issue that stops it. */
function checkModel(config: ExperimentConfig, baseDir: string, file: string): { arch: string } | ConfigIssue {
  try {
    return { arch: modelSpecMemo(file, modelOptions(config, baseDir)).spec.arch };
  } catch (e) {
    return e instanceof FieldError ? { path: e.path, message: e.message.slice(e.path.length + 2) } : { path: 'model.name', message: (e as Error).message.replace(/^model\.name: /, '') };
  }
}

/** The seeded partition of the training set over the clients can be made (`partitionMemo`), or the issue naming the field. */
function checkPartition(config: ExperimentConfig, baseDir: string): ConfigIssue | null {
  try {
    partitionMemo(config, baseDir);
    return null;
  } catch (e) {
    const m = /^([a-zA-Z]+(?:\.[a-zA-Z]+)+): ([^]*)$/.exec((e as Error).message);
    return m ? { path: m[1], message: m[2] } : { path: 'data.dataset', message: (e as Error).message };
  }
}

const shippedHint = (names: Record<string, unknown>, what: string) => ` (a shipped name: ${Object.keys(names).join(', ')}, or ${what})`;

export function validateRunConfig(input: unknown, baseDir: string): ValidationResult {
  const r = validateConfig(input);
  if (!r.ok) return r;
  const config = structuredClone(r.config);
  const issues: ConfigIssue[] = [];
  const got = (v: unknown) => `, got ${JSON.stringify(v)}`;

  const dataName = config.data.dataset, dataPath = resolveDataset(dataName, baseDir);
  let dataText: boolean | null = null;
  if (SHIPPED_DATASETS[dataName] && !fs.existsSync(dataPath)) {
    issues.push({ path: 'data.dataset', message: `shipped dataset missing at ${dataPath}: run \`${REBUILD[dataName]}\`${got(dataName)}` });
  } else {
    const dataIssues = checkDataset(config, baseDir);
    for (const i of dataIssues) {
      const hint = i.path === 'data.dataset' && !SHIPPED_DATASETS[dataName] && !fs.existsSync(dataPath) ? shippedHint(SHIPPED_DATASETS, 'a dataset file or folder') : '';
      issues.push({ path: i.path, message: `${i.message}${hint}${i.path === 'data.dataset' ? got(dataName) : ''}` });
    }
    if (!dataIssues.length) dataText = isTextFormat(locateDataset(dataPath, config.data.format).format);
    if (!dataIssues.length && !SHIPPED_DATASETS[dataName]) config.data.dataset = dataPath;
  }

  const modelName = config.model.name, modelFile = resolveModel(modelName, baseDir);
  if (!fs.existsSync(modelFile)) {
    const hint = SHIPPED_MODELS[modelName] ? ` (shipped model missing: run \`${REBUILD[modelName]}\`)` : shippedHint({ ...SHIPPED_MODELS, ...GENERATED_MODELS }, 'a .safetensors file');
    issues.push({ path: 'model.name', message: `no such file ${modelFile}${hint}${got(modelName)}` });
  } else {
    const m = checkModel(config, baseDir, modelFile);
    if ('path' in m) issues.push({ ...m, message: m.path === 'model.name' ? `${m.message}${got(modelName)}` : m.message });
    else if (dataText !== null && dataText !== (m.arch === 'text')) {
      issues.push({ path: 'model.name', message: `a ${m.arch} model cannot read the ${dataText ? 'text' : 'image'} dataset ${JSON.stringify(dataName)}; pick a ${dataText ? 'text model (e.g. text-wordnet-base)' : 'ViT (e.g. vit-fmnist-base)'}${got(modelName)}` });
    }
    if (!SHIPPED_MODELS[modelName] && !GENERATED_MODELS[modelName]) config.model.name = modelFile;
  }
  if (config.model.tokenizer) config.model.tokenizer = resolveUserPath(config.model.tokenizer, baseDir);

  if (!issues.length) {
    const shards = checkPartition(config, baseDir);
    if (shards) issues.push(shards);
  }
  if (!issues.length) {
    const budget = checkLatencyBudget(config, baseDir);
    if (budget) issues.push(budget);
  }
  return issues.length ? { ok: false, issues } : { ok: true, config };
}

/** The validated config, or an ApiError 'invalid-config' listing every issue (for the API's writers). */
export function validOrThrow(input: unknown, baseDir: string): ExperimentConfig {
  const v = validateRunConfig(input, baseDir);
  if (!v.ok) throw new ApiError('invalid-config', v.issues.map((i) => `${i.path || '(config root)'}: ${i.message}`).join('\n'), v.issues);
  return v.config;
}
