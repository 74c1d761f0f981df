/**
 * How the shipped Fashion-MNIST subset is cut from the full set, shared by the subset builder and
 * the pretraining script so that pretraining never sees a fine-tuning image.
 */
import { Rng } from '../src/engine/rng';

export const SUBSET_SEED = 2024;
export const TRAIN_PER_CLASS = 1200;
export const TEST_PER_CLASS = 200;

/** `perClass` indices of every class, drawn without replacement by `rng`; sorted. */
export function selectFinetuneSubset(labels: ArrayLike<number>, perClass: number, rng: Rng, numClasses = 10): Int32Array {
  const out: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i);
    if (members.length < perClass) throw new Error(`class ${c} has ${members.length} samples, fewer than ${perClass}`);
    const pick = rng.child(`class${c}`).sample(members.length, perClass);
    for (const j of pick) out.push(members[j]);
  }
  return Int32Array.from(out).sort();
}

/** Indices not in `excluded` whose label is in `classes`; sorted. */
export function pretrainIndices(labels: ArrayLike<number>, excluded: Int32Array, classes: number[]): Int32Array {
  const skip = new Set(excluded), keep = new Set(classes);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (!skip.has(i) && keep.has(labels[i])) out.push(i);
  return Int32Array.from(out);
}

export { Rng };
