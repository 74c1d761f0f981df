/**
 * A small Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words", 2021) with
 * pre-norm blocks and a CLS token, plus LoRA adapters on chosen projections. The blocks, the LoRA
 * linear layer and the weight convention are shared with the text encoder (encoder.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { addBlockShapes, blockMacs, EncoderLora, initWeights, trainableShapesOf, type TrainMode } from './encoder';
import type { LoraSpec, VitSpec, WeightMap } from './types';

export { LINEAR_TARGETS, linearName, type LinearTarget, type TrainMode } from './encoder';

export function numPatches(spec: VitSpec): number {
  return (spec.imageSize / spec.patchSize) ** 2;
}

/** Shapes of every base weight of the ViT. */
export function vitShapes(spec: VitSpec): Record<string, number[]> {
  const d = spec.dim, pd = spec.patchSize * spec.patchSize * spec.channels;
  const s: Record<string, number[]> = {
    'patch.w': [pd, d], 'patch.b': [d], cls: [1, d], pos: [numPatches(spec) + 1, d],
    'norm.g': [d], 'norm.b': [d], 'head.w': [d, spec.numClasses], 'head.b': [spec.numClasses],
  };
  return addBlockShapes(spec, s);
}

/** Shapes of the trainable tensors of a mode (what a client sends), without building the model. */
export function vitTrainableShapes(spec: VitSpec, lora: LoraSpec, mode: TrainMode): Record<string, number[]> {
  return trainableShapesOf(vitShapes(spec), spec, lora, mode);
}

/** The ViT-Tiny shape (DeiT-Tiny: d=192, depth 12, 3 heads, MLP 768) on 28x28 grey images at patch 4: 49 tokens + CLS, ~5.4M weights. */
export const VIT_TINY_28: VitSpec = { arch: 'vit', imageSize: 28, channels: 1, patchSize: 4, dim: 192, depth: 12, heads: 3, mlpDim: 768, numClasses: 10 };

/** Random initial base weights (for pretraining from scratch). */
export function initVitWeights(spec: VitSpec, rng: Rng): WeightMap {
  return initWeights(vitShapes(spec), rng, new Set(['cls', 'pos']));
}

export class VitLora extends EncoderLora {
  declare readonly spec: VitSpec;

  constructor(spec: VitSpec, base: WeightMap, lora: LoraSpec, mode: TrainMode, rng: Rng) {
    super(spec, vitShapes(spec), base, lora, mode, rng);
  }

  /** Logits [batch, classes] for patchified input [batch * numPatches, patchDim]. */
  forward(patches: tf.Tensor2D, batch: number): tf.Tensor2D {
    const d = this.spec.dim;
    const np = numPatches(this.spec), T = np + 1;
    const emb = tf.reshape(this.linear(patches, 'patch'), [batch, np, d]);
    const cls = tf.tile(tf.reshape(this.param('cls'), [1, 1, d]), [batch, 1, 1]);
    let x = tf.reshape(tf.add(tf.concat([cls, emb], 1), this.param('pos')), [batch * T, d]) as tf.Tensor2D;
    const last = this.spec.depth - 1;
    for (let l = 0; l < last; l++) x = this.block(x, l, batch, T);
    const clsOut = this.block(x, last, batch, T, false, undefined, true); // the head reads only the CLS row
    return this.linear(this.norm(clsOut, 'norm'), 'head');
  }
}

/**
 * Floating-point operations of one forward pass of one sample (multiply-adds count 2), including
 * the LoRA branches. A training step costs about 3x this (forward + backward for activations and
 * weights), which is what the simulated compute clock charges per sample.
 */
export function vitForwardFlops(spec: VitSpec, lora?: LoraSpec): number {
  const T = numPatches(spec) + 1, d = spec.dim, pd = spec.patchSize * spec.patchSize * spec.channels;
  let macs = numPatches(spec) * pd * d; // patch embedding
  macs += blockMacs(spec, T, lora);
  macs += d * spec.numClasses;
  return 2 * macs;
}
