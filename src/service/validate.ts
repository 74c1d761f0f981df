/**
 * Config validation for the service: the engine's schema, plus checks that need the disk
 * (dataset folder and model file exist). User paths resolve against the config file's folder and
 * are written back absolute, so a run directory's config.json is self-contained.
 */
import * as fs from 'node:fs';
import { validateConfig, type ConfigIssue, type ExperimentConfig } from '../engine/config';
import { checkIdxFolder } from './loaders';
import { checkLatencyBudget } from './simulate';
import { resolveDataset, resolveModel, SHIPPED_DATASETS, SHIPPED_MODELS } from './resources';

export type ValidationResult = { ok: true; config: ExperimentConfig } | { ok: false; issues: ConfigIssue[] };

export function validateRunConfig(input: unknown, baseDir: string): ValidationResult {
  const r = validateConfig(input);
  if (!r.ok) return r;
  const config = structuredClone(r.config);
  const issues: ConfigIssue[] = [];
  const dataDir = resolveDataset(config.data.dataset, baseDir);
  const dataProblems = checkIdxFolder(dataDir);
  if (dataProblems.length) {
    const hint = SHIPPED_DATASETS[config.data.dataset] ? ' (shipped dataset missing: run `npm run build-data`)' : ` (a shipped name: ${Object.keys(SHIPPED_DATASETS).join(', ')}, or a folder with IDX files)`;
    issues.push({ path: 'data.dataset', message: `${dataProblems[0]}${hint}, got ${JSON.stringify(config.data.dataset)}` });
  } else if (!SHIPPED_DATASETS[config.data.dataset]) config.data.dataset = dataDir;
  const modelFile = resolveModel(config.model.name, baseDir);
  if (!fs.existsSync(modelFile)) {
    const hint = SHIPPED_MODELS[config.model.name] ? ' (shipped model missing: run `npm run pretrain`)' : ` (a shipped name: ${Object.keys(SHIPPED_MODELS).join(', ')}, or a .safetensors file)`;
    issues.push({ path: 'model.name', message: `no such file ${modelFile}${hint}, got ${JSON.stringify(config.model.name)}` });
  } else if (!SHIPPED_MODELS[config.model.name]) config.model.name = modelFile;
  if (!issues.length) {
    const budget = checkLatencyBudget(config, baseDir);
    if (budget) issues.push(budget);
  }
  return issues.length ? { ok: false, issues } : { ok: true, config };
}
