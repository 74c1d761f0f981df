/** Load datasets and models named in a config from disk (names resolved by resources.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadIdxImageDataset } from '../engine/data/idx';
import type { ImageDataset } from '../engine/data/types';
import { parseSafetensors } from '../engine/model/safetensors';
import type { VitSpec, WeightMap } from '../engine/model/types';

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

/** Problems that make `dir` unusable as an IDX dataset folder (empty when fine). */
export function checkIdxFolder(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [`no such folder ${dir}`];
  return Object.values(IDX_FILES).filter((b) => !findIdx(dir, b)).map((b) => `${dir} has no ${b}(.gz)`);
}

export function loadIdxFolder(dir: string, numClasses = 10): { train: ImageDataset; test: ImageDataset } {
  const problems = checkIdxFolder(dir);
  if (problems.length) throw new Error(`data.dataset: ${problems.join('; ')}`);
  const read = (b: string) => { const f = findIdx(dir, b)!; return { file: f, bytes: new Uint8Array(fs.readFileSync(f)) }; };
  const load = (img: string, lab: string) => {
    const i = read(img), l = read(lab);
    return loadIdxImageDataset(i.bytes, l.bytes, { images: i.file, labels: l.file }, numClasses);
  };
  return { train: load(IDX_FILES.trainImages, IDX_FILES.trainLabels), test: load(IDX_FILES.testImages, IDX_FILES.testLabels) };
}

export interface LoadedModel { spec: VitSpec; weights: WeightMap; metadata: Record<string, string>; file: string }

/** Read a safetensors model whose metadata carries `fedlora.spec` (the architecture as JSON). */
export function loadModelFile(file: string): LoadedModel {
  if (!fs.existsSync(file)) throw new Error(`model.name: no such file ${file}`);
  const { tensors, metadata } = parseSafetensors(new Uint8Array(fs.readFileSync(file)), file);
  const specText = metadata['fedlora.spec'];
  if (!specText) throw new Error(`${file}: metadata has no "fedlora.spec" (the architecture); see docs/models.md`);
  let spec: VitSpec;
  try { spec = JSON.parse(specText) as VitSpec; } catch { throw new Error(`${file}: "fedlora.spec" metadata is not valid JSON`); }
  if (spec.arch !== 'vit') throw new Error(`${file}: unsupported architecture "${spec.arch}" (supported: vit)`);
  return { spec, weights: tensors, metadata, file };
}
