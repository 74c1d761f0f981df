/**
 * A small Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words", 2021) with
 * pre-norm blocks and a CLS token, plus LoRA adapters (Hu et al., "LoRA", 2021) on chosen
 * projections. Activations stay 2-D ([batch * tokens, dim]) so every dense product is a plain 2-D
 * matMul (fast on wasm, see ops.ts).
 *
 * Weight convention: y = x W + b with W stored [d_in, d_out]. A LoRA adapter on W stores
 * `lora_a` = A^T [d_in, r] and `lora_b` = B^T [r, d_out], so the effective weight is
 * W0 + (alpha / r) * lora_a @ lora_b, i.e. (W0' + (alpha/r) B A)^T in METHOD.md's notation.
 * Component i of the adapter is (column i of lora_a, row i of lora_b) = (a_i, b_i).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../rng';
import { batchMatMul, frozenMatMul, gelu, layerNorm, matMulPlain } from './ops';
import type { LoraModel, LoraSpec, VitSpec, WeightMap } from './types';

export const LINEAR_TARGETS = ['q', 'k', 'v', 'o', 'fc1', 'fc2'] as const;
export type LinearTarget = (typeof LINEAR_TARGETS)[number];

/** Path of the weight of target `t` in block `l`. */
export function linearName(l: number, t: LinearTarget): string {
  return t === 'fc1' || t === 'fc2' ? `blocks.${l}.mlp.${t}` : `blocks.${l}.attn.${t}`;
}

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
  for (let l = 0; l < spec.depth; l++) {
    for (const n of ['ln1', 'ln2']) { s[`blocks.${l}.${n}.g`] = [d]; s[`blocks.${l}.${n}.b`] = [d]; }
    for (const t of LINEAR_TARGETS) {
      const [din, dout] = t === 'fc1' ? [d, spec.mlpDim] : t === 'fc2' ? [spec.mlpDim, d] : [d, d];
      s[`${linearName(l, t)}.w`] = [din, dout];
      s[`${linearName(l, t)}.b`] = [dout];
    }
  }
  return s;
}

/** Shapes of the trainable tensors of a mode (what a client sends), without building the model. */
export function vitTrainableShapes(spec: VitSpec, lora: LoraSpec, mode: TrainMode): Record<string, number[]> {
  const all = vitShapes(spec);
  const out: Record<string, number[]> = {};
  for (const [name, shape] of Object.entries(all)) if (mode === 'full' || name.startsWith('head.')) out[name] = shape;
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

/** Random initial base weights (for pretraining from scratch). */
export function initVitWeights(spec: VitSpec, rng: Rng): WeightMap {
  const out: WeightMap = {};
  for (const [name, shape] of Object.entries(vitShapes(spec))) {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.g')) data = new Float32Array(size).fill(1);
    else if (name.endsWith('.b')) data = new Float32Array(size);
    else if (shape.length === 2 && name !== 'cls' && name !== 'pos') data = rng.child(name).normalArray(size, Math.sqrt(1 / shape[0]));
    else data = rng.child(name).normalArray(size, 0.02);
    out[name] = { shape, data };
  }
  return out;
}

/** Which weights train: LoRA adapters + head, the head alone, or everything. */
export type TrainMode = 'lora' | 'head-only' | 'full';

export class VitLora implements LoraModel {
  /** Frozen tensors (kept until dispose). */
  private readonly frozen = new Map<string, tf.Tensor>();
  /** Trainable variables, in a fixed order. */
  readonly vars = new Map<string, tf.Variable>();
  private readonly frozenLinears = new Map<string, (x: tf.Tensor2D) => tf.Tensor2D>();
  readonly scale: number;

  constructor(readonly spec: VitSpec, base: WeightMap, readonly lora: LoraSpec, readonly mode: TrainMode, rng: Rng) {
    this.scale = lora.alpha / lora.rank;
    const shapes = vitShapes(spec);
    for (const [name, shape] of Object.entries(shapes)) {
      const w = base[name];
      if (!w) throw new Error(`model weights: missing tensor "${name}" (expected shape [${shape}])`);
      if (w.shape.join(',') !== shape.join(',')) {
        throw new Error(`model weights: "${name}" has shape [${w.shape}], the model config needs [${shape}]`);
      }
      const trainable = mode === 'full' || name.startsWith('head.');
      const t = tf.tensor(w.data, shape);
      if (trainable) this.vars.set(name, tf.variable(t, true, `${name}#${nextId++}`));
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
        }
      }
    }
  }

  private param(name: string): tf.Tensor {
    const t = this.vars.get(name) ?? this.frozen.get(name);
    if (!t) throw new Error(`no parameter ${name}`);
    return t;
  }

  /** x W + b (+ LoRA) on 2-D activations. */
  private linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const wName = `${name}.w`;
    let y: tf.Tensor2D;
    if (this.vars.has(wName)) y = matMulPlain(x, this.param(wName)) as tf.Tensor2D;
    else {
      let f = this.frozenLinears.get(wName);
      if (!f) {
        const W = this.param(wName) as tf.Tensor2D;
        const WT = tf.keep(tf.transpose(W));
        this.frozen.set(`${wName}^T`, WT);
        f = frozenMatMul(W, WT);
        this.frozenLinears.set(wName, f);
      }
      y = f(x);
    }
    y = tf.add(y, this.param(`${name}.b`));
    const a = this.vars.get(`${name}.lora_a`);
    if (a) {
      const b = this.vars.get(`${name}.lora_b`)!;
      y = tf.add(y, tf.mul(matMulPlain(matMulPlain(x, a), b), this.scale));
    }
    return y;
  }

  /** Logits [batch, classes] for patchified input [batch * numPatches, patchDim]. */
  forward(patches: tf.Tensor2D, batch: number): tf.Tensor2D {
    const { dim: d, heads: H } = this.spec;
    const np = numPatches(this.spec), T = np + 1, hd = d / H;
    const emb = tf.reshape(this.linear(patches, 'patch'), [batch, np, d]);
    const cls = tf.tile(tf.reshape(this.param('cls'), [1, 1, d]), [batch, 1, 1]);
    let x = tf.reshape(tf.add(tf.concat([cls, emb], 1), this.param('pos')), [batch * T, d]) as tf.Tensor2D;
    for (let l = 0; l < this.spec.depth; l++) {
      const p = `blocks.${l}`;
      const n1 = layerNorm(x, this.param(`${p}.ln1.g`), this.param(`${p}.ln1.b`));
      const q = this.linear(n1, `${p}.attn.q`), k = this.linear(n1, `${p}.attn.k`), v = this.linear(n1, `${p}.attn.v`);
      const split = (t: tf.Tensor2D, perm: number[], shape: [number, number, number]) =>
        tf.reshape(tf.transpose(tf.reshape(t, [batch, T, H, hd]), perm), shape) as tf.Tensor3D;
      const qh = split(q, [0, 2, 1, 3], [batch * H, T, hd]);
      const kT = split(k, [0, 2, 3, 1], [batch * H, hd, T]);
      const vh = split(v, [0, 2, 1, 3], [batch * H, T, hd]);
      const att = tf.softmax(tf.mul(batchMatMul(qh, kT), 1 / Math.sqrt(hd))) as tf.Tensor3D;
      const o = tf.reshape(tf.transpose(tf.reshape(batchMatMul(att, vh), [batch, H, T, hd]), [0, 2, 1, 3]), [batch * T, d]) as tf.Tensor2D;
      x = tf.add(x, this.linear(o, `${p}.attn.o`));
      const n2 = layerNorm(x, this.param(`${p}.ln2.g`), this.param(`${p}.ln2.b`));
      x = tf.add(x, this.linear(gelu(this.linear(n2, `${p}.mlp.fc1`)) as tf.Tensor2D, `${p}.mlp.fc2`));
    }
    const clsOut = tf.reshape(tf.slice(tf.reshape(x, [batch, T, d]) as tf.Tensor3D, [0, 0, 0], [batch, 1, d]), [batch, d]) as tf.Tensor2D;
    return this.linear(layerNorm(clsOut, this.param('norm.g'), this.param('norm.b')), 'head');
  }

  /** Names of the trainable tensors, in a fixed order. */
  trainableNames(): string[] { return [...this.vars.keys()]; }

  /** Trainable values as plain arrays (copies). */
  getTrainable(): WeightMap {
    const out: WeightMap = {};
    for (const [name, v] of this.vars) out[name] = { shape: v.shape.slice(), data: v.dataSync() as Float32Array };
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
  mergedWeights(): WeightMap {
    const out: WeightMap = {};
    for (const [name, t] of [...this.frozen, ...this.vars]) {
      if (name.includes('.lora_') || name.endsWith('^T')) continue;
      out[name] = { shape: t.shape.slice(), data: t.dataSync() as Float32Array };
    }
    for (const name of this.vars.keys()) {
      if (!name.endsWith('.lora_a')) continue;
      const base = name.slice(0, -'.lora_a'.length);
      const merged = tf.tidy(() => tf.add(this.param(`${base}.w`), tf.mul(tf.matMul(this.param(name) as tf.Tensor2D, this.param(`${base}.lora_b`) as tf.Tensor2D), this.scale)));
      out[`${base}.w`] = { shape: merged.shape.slice(), data: merged.dataSync() as Float32Array };
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

let nextId = 0;


/**
 * Floating-point operations of one forward pass of one sample (multiply-adds count 2), including
 * the LoRA branches. A training step costs about 3x this (forward + backward for activations and
 * weights), which is what the simulated compute clock charges per sample.
 */
export function vitForwardFlops(spec: VitSpec, lora?: LoraSpec): number {
  const T = numPatches(spec) + 1, d = spec.dim, pd = spec.patchSize * spec.patchSize * spec.channels;
  let macs = numPatches(spec) * pd * d; // patch embedding
  const perToken = 4 * d * d + 2 * d * spec.mlpDim;
  macs += spec.depth * (T * perToken + 2 * T * T * d); // projections + attention products
  if (lora) {
    for (const t of lora.targets) {
      const [din, dout] = t === 'fc1' ? [d, spec.mlpDim] : t === 'fc2' ? [spec.mlpDim, d] : [d, d];
      macs += spec.depth * T * lora.rank * (din + dout);
    }
  }
  macs += d * spec.numClasses;
  return 2 * macs;
}
