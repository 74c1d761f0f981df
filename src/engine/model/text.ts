/**
 * A transformer encoder text classifier (Vaswani et al. 2017; BERT: Devlin et al. 2019) with LoRA
 * adapters on the same projections as the ViT (q, k, v, o, fc1, fc2). Input rows are token ids
 * ([batch * seqLen, 1], float32 as every batch is); padding (spec.padId) is masked out of
 * attention and of mean pooling. Pre-norm (our shipped models) or post-norm (BERT checkpoints).
 *
 * Weights: `tok_emb` [vocab, d], `pos` [maxLen, d] (BERT's token-type row 0 folded in),
 * `emb_norm.{g,b}` (post-norm only), blocks as in encoder.ts, `norm.{g,b}` (pre-norm only),
 * `pooler.{w,b}` (when spec.pooler), `head.{w,b}`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { addBlockShapes, blockMacs, EncoderLora, initWeights, trainableShapesOf, type TrainMode } from './encoder';
import type { LoraSpec, TextSpec, WeightMap } from './types';

/** Shapes of every base weight of the text encoder. */
export function textShapes(spec: TextSpec): Record<string, number[]> {
  const d = spec.dim;
  const s: Record<string, number[]> = { tok_emb: [spec.vocabSize, d], pos: [spec.maxLen, d] };
  if (spec.norm === 'post') { s['emb_norm.g'] = [d]; s['emb_norm.b'] = [d]; }
  addBlockShapes(spec, s);
  if (spec.norm === 'pre') { s['norm.g'] = [d]; s['norm.b'] = [d]; }
  if (spec.pooler) { s['pooler.w'] = [d, d]; s['pooler.b'] = [d]; }
  s['head.w'] = [d, spec.numClasses];
  s['head.b'] = [spec.numClasses];
  return s;
}

export function textTrainableShapes(spec: TextSpec, lora: LoraSpec, mode: TrainMode): Record<string, number[]> {
  return trainableShapesOf(textShapes(spec), spec, lora, mode);
}

export function initTextWeights(spec: TextSpec, rng: Rng): WeightMap {
  return initWeights(textShapes(spec), rng, new Set(['tok_emb', 'pos']));
}

/** Problems with a text spec (empty when consistent). */
export function checkTextSpec(spec: TextSpec): string[] {
  const out: string[] = [];
  if (spec.dim % spec.heads !== 0) out.push(`dim ${spec.dim} is not divisible by heads ${spec.heads}`);
  if (spec.seqLen < 1 || spec.seqLen > spec.maxLen) out.push(`seqLen ${spec.seqLen} must be in 1..maxLen (${spec.maxLen})`);
  if (spec.padId < 0 || spec.padId >= spec.vocabSize) out.push(`padId ${spec.padId} is outside the vocabulary (${spec.vocabSize})`);
  return out;
}

/**
 * Embedding lookup whose gradient is a plain matMul (one-hot^T dy): tfjs-wasm has no kernel for
 * gather's gradient (UnsortedSegmentSum). Only used when the embedding trains (full mode) on wasm;
 * its one-hot is [tokens, vocab] floats (4096 tokens x 30,522 BERT words = 0.5 GB), so full
 * fine-tuning of a large-vocabulary model belongs on the tensorflow backends (native gather gradient).
 */
function embedTrainable(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const vocab = table.shape[0];
  const f = tf.customGrad(((w: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    save([i]);
    return {
      value: tf.gather(w, i),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.matMul(tf.cast(tf.transpose(tf.oneHot(saved[0] as tf.Tensor1D, vocab)), 'float32') as tf.Tensor2D, dy as tf.Tensor2D),
        tf.zerosLike(saved[0]),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table, ids) as tf.Tensor2D;
}

export class TextLora extends EncoderLora {
  declare readonly spec: TextSpec;

  constructor(spec: TextSpec, base: WeightMap, lora: LoraSpec, mode: TrainMode, rng: Rng) {
    const problems = checkTextSpec(spec);
    if (problems.length) throw new Error(`model spec: ${problems.join('; ')}`);
    super(spec, textShapes(spec), base, lora, mode, rng);
  }

  /**
   * Token features [batch * T, dim] after the last block (and, pre-norm, the final norm) for token
   * ids [batch * T, 1] (T <= maxLen; normally spec.seqLen), with the padding mask [batch, T] (1 = token).
   * `clsOnly`: the first token's features only, [batch, dim] (the last block computes no others).
   */
  encode(tokens: tf.Tensor2D, batch: number, clsOnly = false): { h: tf.Tensor2D; keep: tf.Tensor2D; T: number } {
    const { dim: d, padId } = this.spec;
    const T = tokens.shape[0] / batch;
    if (!Number.isInteger(T) || T > this.spec.maxLen || tokens.shape[1] !== 1) {
      throw new Error(`text model: input [${tokens.shape}] is not [batch * T, 1] with T <= ${this.spec.maxLen} for batch ${batch}`);
    }
    const ids = tf.cast(tf.reshape(tokens, [batch * T]), 'int32') as tf.Tensor1D;
    const table = this.param('tok_emb') as tf.Tensor2D;
    const emb = this.vars.has('tok_emb') && tf.getBackend() === 'wasm' ? embedTrainable(table, ids) : tf.gather(table, ids) as tf.Tensor2D;
    const pos = tf.slice(this.param('pos'), [0, 0], [T, d]);
    let x = tf.reshape(tf.add(tf.reshape(emb, [batch, T, d]), pos), [batch * T, d]) as tf.Tensor2D;
    const post = this.spec.norm === 'post';
    if (post) x = this.norm(x, 'emb_norm');
    const keep = tf.reshape(tf.cast(tf.notEqual(ids, padId), 'float32'), [batch, T]) as tf.Tensor2D;
    const maskBias = tf.reshape(tf.mul(tf.sub(1, keep), -1e9), [batch, 1, 1, T]);
    for (let l = 0; l < this.spec.depth; l++) x = this.block(x, l, batch, T, post, maskBias, clsOnly && l === this.spec.depth - 1);
    return { h: post ? x : this.norm(x, 'norm'), keep, T };
  }

  /** Logits [batch, classes] for token ids [batch * T, 1]. */
  forward(tokens: tf.Tensor2D, batch: number): tf.Tensor2D {
    const d = this.spec.dim;
    const cls = this.spec.pooling === 'cls';
    const { h, keep, T } = this.encode(tokens, batch, cls);
    let pooled: tf.Tensor2D;
    if (cls) pooled = h;
    else {
      const summed = tf.sum(tf.mul(tf.reshape(h, [batch, T, d]), tf.reshape(keep, [batch, T, 1])), 1);
      pooled = tf.div(summed, tf.maximum(tf.sum(keep, 1, true), 1)) as tf.Tensor2D;
    }
    if (this.spec.pooler) pooled = tf.tanh(this.linear(pooled, 'pooler'));
    return this.linear(pooled, 'head');
  }
}

/** Floating-point operations of one forward pass of one sample at spec.seqLen tokens (see vitForwardFlops). */
export function textForwardFlops(spec: TextSpec, lora?: LoraSpec): number {
  const d = spec.dim;
  let macs = blockMacs(spec, spec.seqLen, lora);
  if (spec.pooler) macs += d * d;
  macs += d * spec.numClasses;
  return 2 * macs;
}
