import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Rng } from '../rng';
import type { VitSpec } from './types';
import { firstRows } from './encoder';
import { initVitWeights, numPatches, VitLora } from './vit';
import { patchify } from './input';

const spec: VitSpec = { arch: 'vit', imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpDim: 32, numClasses: 3 };

function randomPatches(n: number, seed: number): tf.Tensor2D {
  const r = new Rng(`x${seed}`);
  const np = numPatches(spec), pd = spec.patchSize ** 2;
  return tf.tensor2d(r.normalArray(n * np * pd), [n * np, pd]);
}

describe('VitLora', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('adapted forward equals forward with merged weights W0 + (alpha/r) B A', async () => {
    const base = initVitWeights(spec, new Rng('base'));
    const lora = { rank: 4, alpha: 8, targets: ['q', 'v', 'fc1'] };
    const m = new VitLora(spec, base, lora, 'lora', new Rng('init'));
    // make B non-zero so the adapters matter
    const tr = await m.getTrainable();
    const r = new Rng('b');
    for (const [name, w] of Object.entries(tr)) if (name.endsWith('lora_b')) w.data.set(r.normalArray(w.data.length, 0.3));
    m.setTrainable(tr);
    const merged = new VitLora(spec, await m.mergedWeights(), lora, 'head-only', new Rng('unused'));
    const x = randomPatches(3, 1);
    const plain = new VitLora(spec, base, lora, 'head-only', new Rng('unused'));
    const ya = m.forward(x, 3).arraySync().flat();
    const yb = merged.forward(x, 3).arraySync().flat();
    const y0 = plain.forward(x, 3).arraySync().flat();
    for (let i = 0; i < ya.length; i++) expect(ya[i]).toBeCloseTo(yb[i], 4);
    // and the adapters changed the output (the test would pass trivially otherwise)
    expect(Math.max(...ya.map((v, i) => Math.abs(v - y0[i])))).toBeGreaterThan(1e-2);
    for (const mm of [m, merged, plain]) mm.dispose();
    x.dispose();
  });

  it('the CLS-only last block gives the logits and gradients of running every block on every token', async () => {
    /** The plain forward: every block on every token, then the CLS row. */
    class FullVit extends VitLora {
      forwardFull(patches: tf.Tensor2D, batch: number): tf.Tensor2D {
        const d = this.spec.dim, T = numPatches(this.spec) + 1;
        const emb = tf.reshape(this.linear(patches, 'patch'), [batch, T - 1, d]);
        const cls = tf.tile(tf.reshape(this.param('cls'), [1, 1, d]), [batch, 1, 1]);
        let x = tf.reshape(tf.add(tf.concat([cls, emb], 1), this.param('pos')), [batch * T, d]) as tf.Tensor2D;
        for (let l = 0; l < this.spec.depth; l++) x = this.block(x, l, batch, T);
        return this.linear(this.norm(firstRows(x, batch, T), 'norm'), 'head');
      }
    }
    const m = new FullVit(spec, initVitWeights(spec, new Rng('base')), { rank: 4, alpha: 8, targets: ['q', 'v', 'fc2'] }, 'lora', new Rng('init'));
    const tr = await m.getTrainable();
    for (const [name, w] of Object.entries(tr)) if (name.endsWith('lora_b')) w.data.set(new Rng(name).normalArray(w.data.length, 0.3));
    m.setTrainable(tr);
    const x = randomPatches(4, 2);
    const vars = [...m.vars.values()];
    const run = (f: () => tf.Tensor2D) => tf.variableGrads(() => tf.sum(tf.square(f())) as tf.Scalar, vars);
    const a = run(() => m.forward(x, 4)), b = run(() => m.forwardFull(x, 4));
    expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 4);
    for (const v of vars) {
      const ga = a.grads[v.name].dataSync(), gb = b.grads[v.name].dataSync();
      let scale = 1e-6;
      for (const g of gb) scale = Math.max(scale, Math.abs(g));
      for (let i = 0; i < ga.length; i++) expect(Math.abs(ga[i] - gb[i]) / scale, v.name).toBeLessThan(1e-4);
    }
    m.dispose();
  });

  it('trains only adapters and head in lora mode; base frozen', () => {
    const base = initVitWeights(spec, new Rng('base'));
    const m = new VitLora(spec, base, { rank: 2, alpha: 4, targets: ['q', 'v'] }, 'lora', new Rng('init'));
    expect(m.trainableNames().sort()).toEqual([
      'blocks.0.attn.q.lora_a', 'blocks.0.attn.q.lora_b', 'blocks.0.attn.v.lora_a', 'blocks.0.attn.v.lora_b',
      'blocks.1.attn.q.lora_a', 'blocks.1.attn.q.lora_b', 'blocks.1.attn.v.lora_a', 'blocks.1.attn.v.lora_b',
      'head.b', 'head.w',
    ]);
    // lora_b starts at zero: the adapted model equals the base model
    const plain = new VitLora(spec, base, { rank: 2, alpha: 4, targets: [] }, 'head-only', new Rng('init'));
    const x = randomPatches(2, 2);
    expect(m.forward(x, 2).arraySync()).toEqual(plain.forward(x, 2).arraySync());
    m.dispose(); plain.dispose(); x.dispose();
  });

  it('rejects base weights of the wrong shape with the tensor name', () => {
    const base = initVitWeights(spec, new Rng('base'));
    base['blocks.1.attn.k.w'] = { shape: [16, 8], data: new Float32Array(128) };
    expect(() => new VitLora(spec, base, { rank: 2, alpha: 4, targets: ['q'] }, 'lora', new Rng('i')))
      .toThrow(/blocks\.1\.attn\.k\.w.*\[16,8\].*\[16,16\]/);
  });

  it('patchify maps pixel (y, x) to patch (y/P, x/P) offset (y%P, x%P)', () => {
    const n = 2, S = 8;
    const img = new Float32Array(n * S * S).map((_, i) => i);
    const p = patchify(img, n, spec);
    // image 1, pixel (5, 2): patch (1, 0) -> index 2 of 4, inner offset 1*4+2
    expect(p[(1 * 4 + 2) * 16 + (1 * 4 + 2)]).toBe(1 * 64 + 5 * 8 + 2);
    expect(p.length).toBe(img.length);
  });
});
