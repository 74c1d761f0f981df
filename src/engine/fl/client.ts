/**
 * One client's local training (docs/method.md section 1, step 2): start from the global trainable
 * weights, run E local epochs (or a step budget) on its shard, return the update
 * (local - global) and the client's new optimizer state.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import type { LoraModel } from '../model/types';
import type { WeightMap } from '../model/types';
import { LocalOptimizer, type OptimizerSpec, type OptimizerState } from './optimizer';
import { subtractWeights } from '../model/weights';
import type { PatchedDataset } from '../data/types';
import { batchOrder } from '../data/batches';

export interface LocalTrainSpec {
  optimizer: OptimizerSpec;
  batchSize: number;
  localEpochs: number;
  localSteps: number | null;
}

export interface LocalResult {
  update: WeightMap;
  optState: OptimizerState;
  meanLoss: number;
  steps: number;
  samplesProcessed: number;
}

/** Copy rows `idx` into one batch tensor [b * numPatches, patchDim] and one-hot labels. */
export function makeBatch(ds: PatchedDataset, idx: ArrayLike<number>): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const b = idx.length, L = ds.rowLen;
  const xs = new Float32Array(b * L);
  const ys = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const j = idx[i];
    xs.set(ds.x.subarray(j * L, (j + 1) * L), i * L);
    ys[i] = ds.y[j];
  }
  return tf.tidy(() => ({
    x: tf.tensor2d(xs, [b * ds.numPatches, L / ds.numPatches]),
    y: tf.oneHot(tf.tensor1d(ys, 'int32'), ds.numClasses) as tf.Tensor2D,
  }));
}

export function crossEntropy(model: LoraModel, x: tf.Tensor2D, y: tf.Tensor2D, batch: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, model.forward(x, batch)) as tf.Scalar;
}


/** Values of kept scalars, read after the work that made them (one async read each), then disposed. */
export async function readScalars(ts: tf.Tensor[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of ts) { out.push((await t.data())[0]); t.dispose(); }
  return out;
}

/**
 * Train on a shard. `global` must already be loaded into the model's variables. The step losses
 * are read once the steps are queued (a GPU backend runs ahead) and summed in step order.
 */
export async function localTrain(
  model: LoraModel, global: WeightMap, ds: PatchedDataset, shard: Int32Array,
  spec: LocalTrainSpec, optState: OptimizerState, rng: Rng,
  extraLoss?: () => tf.Scalar,
): Promise<LocalResult> {
  const opt = new LocalOptimizer(spec.optimizer, model.vars, optState);
  let steps = 0, samples = 0;
  const losses: tf.Scalar[] = [];
  const maxSteps = spec.localSteps ?? Infinity;
  for (let epoch = 0; steps < maxSteps && (spec.localSteps !== null || epoch < spec.localEpochs); epoch++) {
    for (const idx of batchOrder(shard, spec.batchSize, rng.child(`epoch${epoch}`))) {
      if (steps >= maxSteps) break;
      const { x, y } = makeBatch(ds, idx);
      losses.push(opt.minimize(() => {
        const ce = crossEntropy(model, x, y, idx.length);
        return extraLoss ? tf.add(ce, extraLoss()) : ce;
      }));
      x.dispose(); y.dispose();
      steps += 1;
      samples += idx.length;
    }
    if (shard.length === 0) break;
  }
  let lossSum = 0;
  for (const l of await readScalars(losses)) lossSum += l;
  const local = await model.getTrainable();
  return { update: subtractWeights(local, global), optState: await opt.finish(), meanLoss: steps ? lossSum / steps : NaN, steps, samplesProcessed: samples };
}

/** Accuracy and mean loss over the first `limit` samples of `ds`. */
/** Most classes for which evaluation reports a confusion matrix (C x C counts in every evaluated row). */
export const MAX_CONFUSION_CLASSES = 50;

export interface EvalResult {
  acc: number;
  loss: number;
  /** Accuracy per class (class order; NaN-free: a class without test samples gets null). */
  classAcc: (number | null)[];
  /** Counts, rows = true class, columns = predicted; only with at most MAX_CONFUSION_CLASSES classes. */
  confusion: number[][] | null;
}

export async function evaluate(model: LoraModel, ds: PatchedDataset, batchSize: number, limit = ds.n): Promise<EvalResult> {
  let correct = 0, lossSum = 0;
  const n = Math.min(limit, ds.n);
  const parts: tf.Scalar[] = [];
  const predicted: tf.Tensor[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const b = Math.min(batchSize, n - s);
    const idx = Int32Array.from({ length: b }, (_, i) => s + i);
    const { x, y } = makeBatch(ds, idx);
    const [c, l] = tf.tidy(() => {
      const logits = model.forward(x, b);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(y, -1)), 'float32'));
      const loss = tf.mul(tf.losses.softmaxCrossEntropy(y, logits), b);
      predicted.push(tf.keep(tf.argMax(logits, -1)));
      return [tf.keep(hits), tf.keep(loss)] as tf.Scalar[];
    });
    parts.push(c, l);
    x.dispose(); y.dispose();
  }
  const values = await readScalars(parts);
  for (let i = 0; i < values.length; i += 2) { correct += values[i]; lossSum += values[i + 1]; }
  const C = ds.numClasses, counts = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let s = 0;
  for (const p of predicted) {
    for (const k of await p.data()) counts[ds.y[s++]][k]++;
    p.dispose();
  }
  const classAcc = counts.map((row, c) => { const total = row.reduce((a, x) => a + x, 0); return total ? row[c] / total : null; });
  return { acc: n ? correct / n : NaN, loss: n ? lossSum / n : NaN, classAcc, confusion: C <= MAX_CONFUSION_CLASSES ? counts : null };
}
