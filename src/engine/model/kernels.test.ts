import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Rng } from '../rng';
import { attention, attentionOps, gelu, geluOps, layerNorm, layerNormOps, loraAdd, loraAddOps } from './ops';

/** Max |a - b| relative to max |b| (1 if b is all zeros). */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  let d = 0, m = 0;
  for (let i = 0; i < x.length; i++) { d = Math.max(d, Math.abs(x[i] - y[i])); m = Math.max(m, Math.abs(y[i])); }
  return d / (m || 1);
}

const rand = (rng: Rng, shape: number[], sd = 1) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), sd), shape);

/** Value and gradients (to every input) of sum(f(inputs) * w) for a fixed random weighting w. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], w: tf.Tensor): { y: tf.Tensor; g: tf.Tensor[] } {
  const y = f(...inputs);
  const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(inputs);
  return { y, g };
}

describe.each(['wasm', 'cpu'] as const)('fused kernels on %s agree with the tfjs-op versions', (backend) => {
  beforeAll(async () => { await initBackend(backend); });

  it('GELU at known points: x Phi(x) to float32 precision', () => {
    // Phi(1) = 0.8413447460685429, Phi(-3) = 0.0013498980316301, Phi(-0.5) = 0.3085375387259869
    const y = gelu(tf.tensor1d([1, -3, -0.5, 0, -20])).dataSync();
    const want = [0.8413447460685429, -3 * 0.0013498980316301, -0.5 * 0.3085375387259869, 0, 0];
    for (let i = 0; i < want.length; i++) expect(Math.abs(y[i] - want[i])).toBeLessThanOrEqual(2e-7 * Math.max(1, Math.abs(want[i])));
  });

  it('layer norm: value and gradients to x, gain and bias', () => {
    const rng = new Rng('ln');
    const x = rand(rng.child('x'), [37, 24], 3), g = rand(rng.child('g'), [24]), b = rand(rng.child('b'), [24]), w = rand(rng.child('w'), [37, 24]);
    const fused = valueAndGrads((a, c, d) => layerNorm(a as tf.Tensor2D, c, d, 1e-5), [x, g, b], w);
    const ref = valueAndGrads((a, c, d) => layerNormOps(a as tf.Tensor2D, c, d, 1e-5), [x, g, b], w);
    expect(relErr(fused.y, ref.y)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) expect(relErr(fused.g[i], ref.g[i])).toBeLessThan(1e-4);
    // a row of equal values normalises to the bias (variance 0, eps keeps it finite)
    const flat = layerNorm(tf.fill([1, 24], 7) as tf.Tensor2D, g, b).dataSync();
    expect(Array.from(flat)).toEqual(Array.from(b.dataSync()));
  });

  it('GELU: value and gradient, including the tails', () => {
    const rng = new Rng('gelu');
    const x = tf.concat([rand(rng.child('x'), [500], 2.5), tf.tensor1d([-12, -6, -3, 0, 3, 6, 12])]), w = rand(rng.child('w'), [507]);
    const fused = valueAndGrads((a) => gelu(a), [x], w);
    const ref = valueAndGrads((a) => geluOps(a), [x], w);
    expect(relErr(fused.y, ref.y)).toBeLessThan(1e-6);
    expect(relErr(fused.g[0], ref.g[0])).toBeLessThan(1e-5);
    expect(gelu(tf.tensor1d([0])).dataSync()[0]).toBe(0);
  });

  it.each([[false, 2, 8], [true, 2, 8], [false, 3, 15], [true, 3, 15]])('attention (mask %s, %i heads, dim %i): value and gradients to q, k, v', (masked, heads, d) => {
    const rng = new Rng(`att${masked}${d}`);
    const batch = 3, T = 5; // head size 4 (vector lanes only) and 5 (a scalar tail); T = 5 (softmax tail)
    const q = rand(rng.child('q'), [batch * T, d]), k = rand(rng.child('k'), [batch * T, d]), v = rand(rng.child('v'), [batch * T, d]);
    const w = rand(rng.child('w'), [batch * T, d]);
    // mask out the last two keys of the second sample
    const mask = masked ? tf.tensor2d(Array.from({ length: batch * T }, (_, i) => (i >= T && i < 2 * T && i % T >= T - 2 ? -1e9 : 0)), [batch, T]) : undefined;
    const shape = { batch, T, heads: heads as number };
    const fused = valueAndGrads((a, b, c) => attention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape, mask), [q, k, v], w);
    const ref = valueAndGrads((a, b, c) => attentionOps(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape, mask), [q, k, v], w);
    expect(relErr(fused.y, ref.y)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) expect(relErr(fused.g[i], ref.g[i])).toBeLessThan(1e-4);
    if (masked) {
      // masked keys get no gradient from the second sample's queries
      const dk = fused.g[1].arraySync() as number[][];
      expect(dk[2 * T - 1].every((x) => x === 0)).toBe(true);
    }
  });

  it('attention with one query row per sample (the CLS-only last block): value and gradients', () => {
    const rng = new Rng('att-q1');
    const batch = 3, T = 6, heads = 2, d = 8;
    const q = rand(rng.child('q'), [batch, d]), k = rand(rng.child('k'), [batch * T, d]), v = rand(rng.child('v'), [batch * T, d]);
    const w = rand(rng.child('w'), [batch, d]);
    const shape = { batch, T, heads };
    const fused = valueAndGrads((a, b, c) => attention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape), [q, k, v], w);
    const ref = valueAndGrads((a, b, c) => attentionOps(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape), [q, k, v], w);
    expect(fused.y.shape).toEqual([batch, d]);
    expect(relErr(fused.y, ref.y)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) expect(relErr(fused.g[i], ref.g[i])).toBeLessThan(1e-4);
  });

  /** Value and gradients of attention under FEDLORA_ATTENTION=`mode`, as bit patterns. */
  function attentionBits(mode: string, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, w: tf.Tensor, shape: { batch: number; T: number; heads: number }, mask?: tf.Tensor): Uint32Array[] {
    const before = process.env.FEDLORA_ATTENTION;
    process.env.FEDLORA_ATTENTION = mode;
    try {
      const r = valueAndGrads((a, b, c) => attention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape, mask), [q, k, v], w);
      return [r.y, ...r.g].map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer));
    } finally {
      if (before === undefined) delete process.env.FEDLORA_ATTENTION; else process.env.FEDLORA_ATTENTION = before;
    }
  }

  // head sizes 13 (an 8-wide tile, a 4-wide one and a scalar column), 3 (scalar only), 16 and 64
  // (8-wide tiles only); T = 9, 7, 12, 17 (row tiles of 4 and 2 with rows left over, 4-key blocks
  // with a tail); one query row per sample (the CLS-only block); masked batches
  it.each([
    [2, 9, 9, 2, 26, false], [3, 7, 7, 3, 9, true], [2, 9, 1, 2, 26, false], [3, 7, 1, 3, 9, true], [2, 12, 12, 2, 32, true], [1, 17, 17, 1, 64, false],
  ])('blocked attention (batch %i, T %i, %i query rows, %i heads, dim %i, mask %s): the op chain\'s values and gradients, the rowwise kernel\'s bits', (batch, T, Tq, heads, d, masked) => {
    const rng = new Rng(`attb${batch}${T}${Tq}${d}`);
    const q = rand(rng.child('q'), [batch * Tq, d]), k = rand(rng.child('k'), [batch * T, d]), v = rand(rng.child('v'), [batch * T, d]);
    const w = rand(rng.child('w'), [batch * Tq, d]);
    // mask the last two keys of the last sample
    const mask = masked ? tf.tensor2d(Array.from({ length: batch * T }, (_, i) => (i >= (batch - 1) * T && i % T >= T - 2 ? -1e9 : 0)), [batch, T]) : undefined;
    const shape = { batch, T, heads };
    const blocked = attentionBits('blocked', q, k, v, w, shape, mask);
    expect(attentionBits('rowwise', q, k, v, w, shape, mask)).toEqual(blocked);
    expect(attentionBits('blocked', q, k, v, w, shape, mask)).toEqual(blocked); // deterministic: same inputs, same bits
    const fused = valueAndGrads((a, b, c) => attention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape, mask), [q, k, v], w);
    const ref = valueAndGrads((a, b, c) => attentionOps(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape, mask), [q, k, v], w);
    expect(fused.y.shape).toEqual([batch * Tq, d]);
    expect(relErr(fused.y, ref.y)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) expect(relErr(fused.g[i], ref.g[i])).toBeLessThan(1e-4);
    if (masked) {
      const dk = fused.g[1].arraySync() as number[][];
      expect(dk[batch * T - 1].every((x) => x === 0)).toBe(true); // masked keys get no gradient
    }
  });

  it('FEDLORA_ATTENTION: a value other than blocked or rowwise is refused, naming the variable', async () => {
    const before = process.env.FEDLORA_ATTENTION;
    process.env.FEDLORA_ATTENTION = 'fast';
    try {
      const x = tf.zeros([4, 4]) as tf.Tensor2D;
      expect(() => attention(x, x, x, { batch: 1, T: 4, heads: 1 })).toThrow(/FEDLORA_ATTENTION: must be "blocked" \(the default\) or "rowwise", got "fast"/);
      // and before a run starts: initBackend checks it before any backend is tried
      await expect(initBackend(backend)).rejects.toThrow(/FEDLORA_ATTENTION: must be "blocked"/);
    } finally {
      if (before === undefined) delete process.env.FEDLORA_ATTENTION; else process.env.FEDLORA_ATTENTION = before;
    }
  });

  it.each([[8, 12, 16], [5, 7, 3]])('LoRA branch y0 + s (x A) B (d_in %i, rank %i, d_out %i): value and gradients to y0, x, A, B', (din, r, dout) => {
    const rng = new Rng(`lora${din}`);
    const N = 11;
    const y0 = rand(rng.child('y0'), [N, dout]), x = rand(rng.child('x'), [N, din]), a = rand(rng.child('a'), [din, r]), b = rand(rng.child('b'), [r, dout]);
    const w = rand(rng.child('w'), [N, dout]);
    const fused = valueAndGrads((p, q, c, d) => loraAdd(p as tf.Tensor2D, q as tf.Tensor2D, c, d, 2.5), [y0, x, a, b], w);
    const ref = valueAndGrads((p, q, c, d) => loraAddOps(p as tf.Tensor2D, q as tf.Tensor2D, c, d, 2.5), [y0, x, a, b], w);
    expect(relErr(fused.y, ref.y)).toBeLessThan(1e-5);
    for (let i = 0; i < 4; i++) expect(relErr(fused.g[i], ref.g[i])).toBeLessThan(1e-5);
  });

  it('inconsistent shapes are refused before any memory is touched, naming the kernel', () => {
    const t = (r: number, c: number) => tf.zeros([r, c]) as tf.Tensor2D;
    expect(() => attention(t(6, 8), t(10, 8), t(10, 8), { batch: 3, T: 5, heads: 2 })).toThrow(/FedloraAttention: inconsistent input shapes \(\[6,8\], \[10,8\], \[10,8\] for batch 3/);
    expect(() => attention(t(15, 8), t(15, 8), t(15, 8), { batch: 3, T: 5, heads: 3 })).toThrow(/FedloraAttention: inconsistent/);
    expect(() => loraAdd(t(4, 6), t(4, 5), tf.zeros([6, 2]), tf.zeros([2, 6]), 1)).toThrow(/FedloraLora: inconsistent input shapes/);
    expect(() => layerNorm(t(4, 6), tf.ones([5]), tf.zeros([6]))).toThrow(/FedloraLayerNorm: inconsistent input shapes/);
  });

  it('NaN and overflow stay visible (a diverging client must not look finite)', () => {
    const g = tf.ones([4]), b = tf.zeros([4]);
    // the variance of this row overflows float32: NaN, not the bias
    expect(Array.from(layerNorm(tf.tensor2d([[3e30, -3e30, 1e30, 0]]), g, b).dataSync()).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(gelu(tf.tensor1d([NaN, 1, 2, 3, 4])).dataSync()[0])).toBe(true);
    const q = tf.tensor2d([[NaN, 0], [0, 1]]), k = tf.tensor2d([[1, 0], [0, 1]]);
    expect(Array.from(attention(q, k, k, { batch: 1, T: 2, heads: 1 }).dataSync().slice(0, 2)).every(Number.isNaN)).toBe(true);
  });

  it('attention on one head equals softmax(q k^T / sqrt(d)) v computed by hand', () => {
    const q = tf.tensor2d([[1, 0], [0, 1]]), k = tf.tensor2d([[1, 0], [0, 2]]), v = tf.tensor2d([[1, 2], [3, 4]]);
    const o = attention(q, k, v, { batch: 1, T: 2, heads: 1 }).arraySync() as number[][];
    const s = 1 / Math.SQRT2;
    const row = (a: number, b: number) => { const ea = Math.exp(a * s), eb = Math.exp(b * s); return [(ea * 1 + eb * 3) / (ea + eb), (ea * 2 + eb * 4) / (ea + eb)]; };
    const want = [row(1, 0), row(0, 2)];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(o[i][j]).toBeCloseTo(want[i][j], 5);
  });
});

describe('the embedded wasm module', () => {
  it('another build can be swapped in for a before/after benchmark, and must have the exports the kernels call', async () => {
    const { compileKernelsModule, useKernelsModule } = await import('./kernels');
    const { KERNELS_WASM_BASE64 } = await import('./native/kernels-wasm');
    await initBackend('wasm'); // (and tfjs is left on wasm for the files that share this process)
    const x = tf.tensor1d([-1, 0.5, 2]);
    const want = Array.from(gelu(x).dataSync());
    const copy = compileKernelsModule(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    try {
      useKernelsModule(copy);
      expect(Array.from(gelu(x).dataSync())).toEqual(want);
    } finally {
      useKernelsModule(null);
    }
    const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]); // a valid module with no exports
    expect(() => compileKernelsModule(empty)).toThrow(/kernels module: lacks gelu_fwd, gelu_bwd, .*sgemm \(too old for this version's kernels\.ts\)/);
  });

  it('was built from the committed kernels.c (rerun scripts/build-kernels.sh after editing it)', async () => {
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { KERNELS_SOURCE_SHA256 } = await import('./native/kernels-wasm');
    const src = readFileSync(new URL('./native/kernels.c', import.meta.url));
    expect(createHash('sha256').update(src).digest('hex')).toBe(KERNELS_SOURCE_SHA256);
  });
});
