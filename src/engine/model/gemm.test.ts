import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { crossEntropy } from '../fl/client';
import { Rng } from '../rng';
import { gemmMode, gemmScratchFloats, nativeGemmScratchFloats } from './kernels';
import { gemm, ownGemmPays } from './ops';
import type { VitSpec } from './types';
import { initVitWeights, numPatches, VitLora } from './vit';

/**
 * The engine's packed SGEMM (kernels.c `sgemm`): against tf.matMul, against a sequential float32
 * dot product (its documented summation order: bit for bit), with every transposition, sizes that
 * are not multiples of the 4 x 8 tile or of the k block (768), and through the model's gradients.
 */

/** op(A) op(B) (+ bias) as the kernel defines it: for each element ((bias + a0 b0) + a1 b1) + ... in float32 (0 for no bias). */
function sequentialRef(A: Float32Array, B: Float32Array, M: number, K: number, N: number, ta: boolean, tb: boolean, bias?: Float32Array): Float32Array {
  const f = Math.fround, C = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j] : 0;
      for (let k = 0; k < K; k++) s = f(s + f((ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j])));
      C[i * N + j] = s;
    }
  }
  return C;
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / (m || 1);
}

const env = process.env.FEDLORA_GEMM;
afterEach(() => { if (env === undefined) delete process.env.FEDLORA_GEMM; else process.env.FEDLORA_GEMM = env; });

describe.each(['wasm', 'cpu'] as const)('the engine GEMM on %s', (backend) => {
  beforeAll(async () => { await initBackend(backend); });

  // [M, K, N]: tiles and vectors exactly, every kind of edge, k past one block (768), one row / column
  const shapes: [number, number, number][] = [[8, 16, 16], [5, 7, 3], [13, 9, 21], [37, 261, 11], [1, 5, 9], [6, 1, 1], [70, 300, 45], [33, 64, 17], [9, 800, 11]];

  it.each(shapes)('M %i, K %i, N %i: every transposition, with and without bias: the sequential float32 sum bit for bit, tf.matMul to 2e-6 sqrt(K), XNNPACK bit for bit', (M, K, N) => {
    const rng = new Rng(`gemm${M}x${K}x${N}`);
    const a = rng.child('a').normalArray(M * K), b = rng.child('b').normalArray(K * N), bias = rng.child('bias').normalArray(N);
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const A = tf.tensor2d(a, ta ? [K, M] : [M, K]), B = tf.tensor2d(b, tb ? [N, K] : [K, N]), bt = tf.tensor1d(bias);
        for (const withBias of [false, true]) {
          const got = gemm(A, B, { transposeA: ta, transposeB: tb, bias: withBias ? bt : undefined });
          expect(got.shape).toEqual([M, N]);
          const v = got.dataSync();
          expect(Array.from(v)).toEqual(Array.from(sequentialRef(a, b, M, K, N, ta, tb, withBias ? bias : undefined)));
          const ref = tf.matMul(A, B, ta, tb);
          const want = withBias ? tf.add(ref, bt) : ref;
          // float32 sums of K products in another order: |error| <~ sqrt(K) eps relative to the output scale
          expect(maxRelErr(v, want.dataSync())).toBeLessThan(2e-6 * Math.sqrt(K) + 1e-6);
          // wasm: XNNPACK's GEMM behind tfjs's plain matMul sums in the same order (bias first, then k
          // ascending, multiply then add): the same bits. (Not compared with transposes: tfjs-backend-wasm
          // 4.22's fused matMul with a transpose and a bias is wrong, and the engine never asks it for one.)
          if (backend === 'wasm' && !ta && !tb) {
            const xnn = withBias ? tf.fused.matMul({ a: A, b: B, bias: bt }) : tf.matMul(A, B);
            expect(Array.from(v)).toEqual(Array.from(xnn.dataSync()));
            xnn.dispose();
          }
          tf.dispose([got, ref, want]);
        }
        tf.dispose([A, B, bt]);
      }
    }
  });

  it('the same inputs give the same bits every call (no state kept between calls)', () => {
    const rng = new Rng('gemm-det');
    const A = tf.tensor2d(rng.child('a').normalArray(45 * 300), [45, 300]), B = tf.tensor2d(rng.child('b').normalArray(300 * 19), [300, 19]);
    const first = Array.from(gemm(A, B).dataSync());
    gemm(tf.tensor2d(rng.child('c').normalArray(64 * 64), [64, 64]), tf.eye(64) as tf.Tensor2D); // another shape in between
    expect(Array.from(gemm(A, B).dataSync())).toEqual(first);
  });

  it('inconsistent shapes are refused before any memory is touched, naming the kernel', () => {
    expect(() => gemm(tf.zeros([4, 5]), tf.zeros([6, 3]))).toThrow(/FedloraMatMul: inconsistent input shapes \(\[4,5\], \[6,3\]/);
    expect(() => gemm(tf.zeros([4, 5]), tf.zeros([3, 6]), { transposeB: true })).toThrow(/FedloraMatMul: inconsistent/);
    expect(() => gemm(tf.zeros([4, 5]), tf.zeros([5, 3]), { bias: tf.zeros([4]) })).toThrow(/FedloraMatMul: inconsistent/);
  });

  it('the backend says which GEMM the frozen projections run on (meta.json records it)', async () => {
    expect((await initBackend(backend)).gemm).toBe(backend === 'wasm' ? 'fedlora-simd128' : 'tfjs');
  });

  it('the scratch size the TypeScript side allocates is the one kernels.c asks for', () => {
    for (const [M, N, K] of [[1, 1, 1], [544, 64, 64], [1600, 768, 192], [7, 13, 700]]) expect(gemmScratchFloats(N, K)).toBe(nativeGemmScratchFloats(M, N, K));
  });
});

describe('the model on the engine GEMM (wasm)', () => {
  beforeAll(async () => { await initBackend('wasm'); });
  // 16 tokens + CLS, batch 5: 85 rows per frozen projection (past the 64-row threshold, not a tile multiple)
  const spec: VitSpec = { arch: 'vit', imageSize: 16, channels: 1, patchSize: 4, dim: 20, depth: 2, heads: 2, mlpDim: 36, numClasses: 3 };
  const batch = 5;

  /** Loss and gradients of every trainable tensor of a fresh model (same seeds each call). */
  function lossAndGrads(): { loss: number; grads: Record<string, Float32Array> } {
    const m = new VitLora(spec, initVitWeights(spec, new Rng('base')), { rank: 4, alpha: 8, targets: ['q', 'v', 'fc1'] }, 'lora', new Rng('init'));
    for (const [name, v] of m.vars) if (name.endsWith('lora_b')) v.assign(tf.tensor(new Rng(name).normalArray(v.size, 0.3), v.shape));
    const r = new Rng('data');
    const x = tf.tensor2d(r.normalArray(batch * numPatches(spec) * 16), [batch * numPatches(spec), 16]);
    const y = tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0], 'int32'), 3) as tf.Tensor2D;
    const { value, grads } = tf.variableGrads(() => crossEntropy(m, x, y, batch), [...m.vars.values()]);
    const out: Record<string, Float32Array> = {};
    for (const [name, v] of m.vars) out[name] = grads[v.name].dataSync() as Float32Array;
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads), x, y]);
    m.dispose();
    return { loss, grads: out };
  }

  /** The kernels one forward + backward runs. */
  async function kernelsRun(): Promise<string[]> {
    const p = await tf.profile(() => { lossAndGrads(); });
    return p.kernels.map((k) => k.name);
  }

  it('routes the frozen projections (forward and input gradient) through it, with the loss and gradients of the tfjs matMul path bit for bit', async () => {
    const rows = batch * (numPatches(spec) + 1);
    expect(ownGemmPays(rows, 20, 36)).toBe(true);
    expect(ownGemmPays(batch, 20, 36)).toBe(true); // the CLS-only rows of the last block too
    const own = lossAndGrads();
    const ownKernels = await kernelsRun();
    process.env.FEDLORA_GEMM = 'tfjs';
    expect(ownGemmPays(rows, 20, 36)).toBe(false);
    const ref = lossAndGrads();
    const refKernels = await kernelsRun();
    // 2 full-token blocks' 6 frozen projections minus the adapted q, v... every frozen linear on 85 rows, forward and backward
    // forward: the patch embedding and both blocks' six projections (the last block's q, o and MLP on
    // the 5 CLS rows); backward: at least both blocks' o, fc1, fc2 and the last block's q, k, v
    expect(ownKernels.filter((n) => n === 'FedloraMatMul').length).toBeGreaterThanOrEqual(13 + 9);
    expect(ownKernels).not.toContain('_FusedMatMul');
    expect(refKernels).not.toContain('FedloraMatMul');
    expect(own.loss).toBe(ref.loss);
    for (const name of Object.keys(ref.grads)) expect(Array.from(own.grads[name]), name).toEqual(Array.from(ref.grads[name]));
  });

  it('same seed, same bits: loss and gradients', () => {
    const a = lossAndGrads(), b = lossAndGrads();
    expect(b.loss).toBe(a.loss);
    for (const name of Object.keys(a.grads)) expect(Array.from(b.grads[name]), name).toEqual(Array.from(a.grads[name]));
  });

  it('FEDLORA_GEMM takes fedlora or tfjs; anything else is refused, naming the variable', () => {
    process.env.FEDLORA_GEMM = 'tfjs';
    expect(gemmMode()).toBe('tfjs');
    process.env.FEDLORA_GEMM = 'fast';
    expect(() => gemmMode()).toThrow(/FEDLORA_GEMM: must be "fedlora" \(the default\) or "tfjs", got "fast"/);
  });
});
