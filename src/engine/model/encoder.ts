/**
 * What the transformer encoders (ViT, text) share: the LoRA-adapted linear layer (Hu et al.,
 * "LoRA", 2021), the encoder block (multi-head self-attention + GELU MLP, pre-norm as in ViT or
 * post-norm as in BERT), trainable/frozen bookkeeping, merging and the block's FLOP count.
 * Activations stay 2-D ([batch * tokens, dim]) so every dense product is a plain 2-D matMul (fast
 * on wasm, see ops.ts).
 *
 * Weight convention: y = x W + b with W stored [d_in, d_out]. A LoRA adapter on W stores
 * `lora_a` = A^T [d_in, r] and `lora_b` = B^T [r, d_out], so the effective weight is
 * W0 + (alpha / r) * lora_a @ lora_b, i.e. (W0' + (alpha/r) B A)^T in docs/method.md's notation.
 * Component i of the adapter is (column i of lora_a, row i of lora_b) = (a_i, b_i).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { attention, frozenMatMul, gelu, layerNorm, loraAdd, matMulPlain } from './ops';
import type { LoraModel, LoraSpec, ModelSpec, WeightMap } from './types';

import { LINEAR_TARGETS, type LinearTarget, type TrainMode } from './types';

export { LINEAR_TARGETS, type LinearTarget, type TrainMode };

/** The block dimensions every encoder spec has. */
export interface EncoderDims { dim: number; depth: number; heads: number; mlpDim: number; layerNormEps?: number }

/** Path of the weight of target `t` in block `l`. */
export function linearName(l: number, t: LinearTarget): string {
  return t === 'fc1' || t === 'fc2' ? `blocks.${l}.mlp.${t}` : `blocks.${l}.attn.${t}`;
}

/** [d_in, d_out] of a target's weight. */
export function targetDims(spec: EncoderDims, t: string): [number, number] {
  const d = spec.dim;
  return t === 'fc1' ? [d, spec.mlpDim] : t === 'fc2' ? [spec.mlpDim, d] : [d, d];
}

/** Add the shapes of every block weight (layer norms, then the six linears) to `s`, in a fixed order. */
export function addBlockShapes(spec: EncoderDims, s: Record<string, number[]>): Record<string, number[]> {
  const d = spec.dim;
  for (let l = 0; l < spec.depth; l++) {
    for (const n of ['ln1', 'ln2']) { s[`blocks.${l}.${n}.g`] = [d]; s[`blocks.${l}.${n}.b`] = [d]; }
    for (const t of LINEAR_TARGETS) {
      const [din, dout] = targetDims(spec, t);
      s[`${linearName(l, t)}.w`] = [din, dout];
      s[`${linearName(l, t)}.b`] = [dout];
    }
  }
  return s;
}

/** A base weight that trains in `mode` (the head in every mode, everything in full). */
export const isTrainableBase = (name: string, mode: TrainMode) => mode === 'full' || name.startsWith('head.');

/** Shapes of the trainable tensors of a mode (what a client sends), from the base shapes. */
export function trainableShapesOf(all: Record<string, number[]>, spec: EncoderDims, lora: LoraSpec, mode: TrainMode): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, shape] of Object.entries(all)) if (isTrainableBase(name, mode)) out[name] = shape;
  if (mode === 'lora') {
    for (let l = 0; l < spec.depth; l++) {
      for (const t of lora.targets) {
        const n = linearName(l, t as LinearTarget);
        const [din, dout] = all[`${n}.w`];
        out[`${n}.lora_a`] = [din, lora.rank];
        out[`${n}.lora_b`] = [lora.rank, dout];
      }
    }
  }
  return out;
}

/**
 * Random initial weights for `shapes`: gains 1, biases 0, 2-D matrices N(0, 1/d_in), and the
 * names in `smallInit` (embeddings) N(0, 0.02^2).
 */
export function initWeights(shapes: Record<string, number[]>, rng: Rng, smallInit: Set<string>): WeightMap {
  const out: WeightMap = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.g')) data = new Float32Array(size).fill(1);
    else if (name.endsWith('.b')) data = new Float32Array(size);
    else if (shape.length === 2 && !smallInit.has(name)) data = rng.child(name).normalArray(size, Math.sqrt(1 / shape[0]));
    else data = rng.child(name).normalArray(size, 0.02);
    out[name] = { shape, data };
  }
  return out;
}

/** Multiply-adds of the encoder blocks on T tokens, including the LoRA branches. */
export function blockMacs(spec: EncoderDims, T: number, lora?: LoraSpec): number {
  const d = spec.dim;
  const perToken = 4 * d * d + 2 * d * spec.mlpDim;
  let macs = spec.depth * (T * perToken + 2 * T * T * d); // projections + attention products
  if (lora) {
    for (const t of lora.targets) {
      const [din, dout] = targetDims(spec, t);
      macs += spec.depth * T * lora.rank * (din + dout);
    }
  }
  return macs;
}

/** Row 0 of each sample of x [batch * T, dim]: [batch, dim]. */
export function firstRows(x: tf.Tensor2D, batch: number, T: number): tf.Tensor2D {
  const d = x.shape[1];
  return tf.reshape(tf.slice(tf.reshape(x, [batch, T, d]), [0, 0, 0], [batch, 1, d]), [batch, d]);
}

let nextId = 0;

/** The LoraModel machinery of an encoder; subclasses add embeddings, pooling and `forward`. */
export abstract class EncoderLora implements LoraModel {
  /** Frozen tensors (kept until dispose). */
  protected readonly frozen = new Map<string, tf.Tensor>();
  /** Trainable variables, in a fixed order. */
  readonly vars = new Map<string, tf.Variable>();
  /** The arrays each trainable variable was created from (initialTrainable copies them). */
  private readonly initial = new Map<string, Float32Array>();
  private readonly frozenLinears = new Map<string, (x: tf.Tensor2D) => tf.Tensor2D>();
  readonly scale: number;
  protected readonly eps: number;

  /** `shapes`: every base weight of the architecture, in a fixed order. */
  constructor(readonly spec: ModelSpec & EncoderDims, shapes: Record<string, number[]>, base: WeightMap, readonly lora: LoraSpec, readonly mode: TrainMode, rng: Rng) {
    this.scale = lora.alpha / lora.rank;
    this.eps = spec.layerNormEps ?? 1e-5;
    for (const [name, shape] of Object.entries(shapes)) {
      const w = base[name];
      if (!w) throw new Error(`model weights: missing tensor "${name}" (expected shape [${shape}])`);
      if (w.shape.join(',') !== shape.join(',')) {
        throw new Error(`model weights: "${name}" has shape [${w.shape}], the model config needs [${shape}]`);
      }
      const trainable = isTrainableBase(name, mode);
      const t = tf.tensor(w.data, shape);
      if (trainable) { this.vars.set(name, tf.variable(t, true, `${name}#${nextId++}`)); this.initial.set(name, w.data); }
      else this.frozen.set(name, tf.keep(t));
      if (trainable) t.dispose();
    }
    if (mode === 'lora') {
      for (let l = 0; l < spec.depth; l++) {
        for (const t of lora.targets) {
          const n = linearName(l, t as LinearTarget);
          const [din, dout] = shapes[`${n}.w`];
          const bound = 1 / Math.sqrt(din);
          const a = new Float32Array(din * lora.rank);
          const ar = rng.child(`${n}.lora_a`);
          for (let i = 0; i < a.length; i++) a[i] = (2 * ar.uniform() - 1) * bound;
          this.vars.set(`${n}.lora_a`, tf.variable(tf.tensor2d(a, [din, lora.rank]), true, `${n}.lora_a#${nextId++}`));
          this.vars.set(`${n}.lora_b`, tf.variable(tf.zeros([lora.rank, dout]), true, `${n}.lora_b#${nextId++}`));
          this.initial.set(`${n}.lora_a`, a);
          this.initial.set(`${n}.lora_b`, new Float32Array(lora.rank * dout));
        }
      }
    }
  }

  abstract forward(x: tf.Tensor2D, batch: number): tf.Tensor2D;

  protected param(name: string): tf.Tensor {
    const t = this.vars.get(name) ?? this.frozen.get(name);
    if (!t) throw new Error(`no parameter ${name}`);
    return t;
  }

  protected has(name: string): boolean { return this.vars.has(name) || this.frozen.has(name); }

  /** x W + b (+ LoRA) on 2-D activations. A frozen W with a frozen b is one fused matMul + bias. */
  protected linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const wName = `${name}.w`, bName = `${name}.b`;
    let y: tf.Tensor2D;
    if (this.vars.has(wName)) y = tf.add(matMulPlain(x, this.param(wName)), this.param(bName));
    else {
      let f = this.frozenLinears.get(wName);
      if (!f) {
        const W = this.param(wName) as tf.Tensor2D;
        const WT = tf.keep(tf.transpose(W));
        this.frozen.set(`${wName}^T`, WT);
        const bias = this.frozen.get(bName); // a trainable bias is added outside (it needs its gradient)
        const mm = frozenMatMul(W, WT, bias);
        f = bias ? mm : (xx) => tf.add(mm(xx), this.param(bName));
        this.frozenLinears.set(wName, f);
      }
      y = f(x);
    }
    const a = this.vars.get(`${name}.lora_a`);
    return a ? loraAdd(y, x, a, this.vars.get(`${name}.lora_b`)!, this.scale) : y;
  }

  /** Layer norm with the weights `${name}.g`, `${name}.b`. */
  protected norm(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return layerNorm(x, this.param(`${name}.g`), this.param(`${name}.b`), this.eps);
  }

  /**
   * Multi-head self-attention of block `l`: keys and values from x [batch * T, dim], queries from
   * `xq` (x itself, or one row per sample); `maskBias` [batch, 1, 1, T] is added to the scores.
   */
  private attention(x: tf.Tensor2D, l: number, batch: number, T: number, maskBias?: tf.Tensor, xq: tf.Tensor2D = x): tf.Tensor2D {
    const p = `blocks.${l}`;
    const q = this.linear(xq, `${p}.attn.q`), k = this.linear(x, `${p}.attn.k`), v = this.linear(x, `${p}.attn.v`);
    return this.linear(attention(q, k, v, { batch, T, heads: this.spec.heads }, maskBias), `${p}.attn.o`);
  }

  private mlp(x: tf.Tensor2D, l: number): tf.Tensor2D {
    const p = `blocks.${l}`;
    return this.linear(gelu(this.linear(x, `${p}.mlp.fc1`)) as tf.Tensor2D, `${p}.mlp.fc2`);
  }

  /**
   * Encoder block `l` on x [batch * T, dim]. Pre-norm (ViT): x + Attn(LN1 x), then + MLP(LN2 x).
   * Post-norm (BERT): LN1(x + Attn x), then LN2(x + MLP x). With `firstOnly` only the first
   * token's output is computed, [batch, dim] (the same rows as the full block's; for the last block
   * of a CLS-pooled model): its query, output projection, norms and MLP run on one row per sample.
   */
  protected block(x: tf.Tensor2D, l: number, batch: number, T: number, postNorm = false, maskBias?: tf.Tensor, firstOnly = false): tf.Tensor2D {
    const p = `blocks.${l}`;
    const rows = (t: tf.Tensor2D) => (firstOnly ? firstRows(t, batch, T) : t);
    if (postNorm) {
      const h = this.norm(tf.add(rows(x), this.attention(x, l, batch, T, maskBias, rows(x))), `${p}.ln1`);
      return this.norm(tf.add(h, this.mlp(h, l)), `${p}.ln2`);
    }
    const xn = this.norm(x, `${p}.ln1`);
    const h = tf.add(rows(x), this.attention(xn, l, batch, T, maskBias, rows(xn))) as tf.Tensor2D;
    return tf.add(h, this.mlp(this.norm(h, `${p}.ln2`), l));
  }

  /** Names of the trainable tensors, in a fixed order. */
  trainableNames(): string[] { return [...this.vars.keys()]; }

  /** Trainable values as plain arrays (copies). */
  async getTrainable(): Promise<WeightMap> {
    const out: WeightMap = {};
    for (const [name, v] of this.vars) out[name] = { shape: v.shape.slice(), data: await v.data() as Float32Array };
    return out;
  }

  /** The values the trainable variables were created with (copies): no read from the backend. */
  initialTrainable(): WeightMap {
    const out: WeightMap = {};
    for (const [name, v] of this.vars) out[name] = { shape: v.shape.slice(), data: Float32Array.from(this.initial.get(name)!) };
    return out;
  }

  /** Overwrite trainable values. */
  setTrainable(values: WeightMap): void {
    for (const [name, v] of this.vars) {
      const w = values[name];
      if (!w) throw new Error(`setTrainable: missing "${name}"`);
      tf.tidy(() => v.assign(tf.tensor(w.data, v.shape)));
    }
  }

  /** Base weights merged with the adapters: W0 + (alpha/r) lora_a @ lora_b, and trained heads. */
  async mergedWeights(): Promise<WeightMap> {
    const out: WeightMap = {};
    for (const [name, t] of [...this.frozen, ...this.vars]) {
      if (name.includes('.lora_') || name.endsWith('^T')) continue;
      out[name] = { shape: t.shape.slice(), data: await t.data() as Float32Array };
    }
    for (const name of this.vars.keys()) {
      if (!name.endsWith('.lora_a')) continue;
      const base = name.slice(0, -'.lora_a'.length);
      const merged = tf.tidy(() => tf.add(this.param(`${base}.w`), tf.mul(tf.matMul(this.param(name) as tf.Tensor2D, this.param(`${base}.lora_b`) as tf.Tensor2D), this.scale)));
      out[`${base}.w`] = { shape: merged.shape.slice(), data: await merged.data() as Float32Array };
      merged.dispose();
    }
    return out;
  }

  dispose(): void {
    for (const t of this.frozen.values()) t.dispose();
    for (const v of this.vars.values()) v.dispose();
    this.frozen.clear();
    this.vars.clear();
    this.frozenLinears.clear();
  }
}
