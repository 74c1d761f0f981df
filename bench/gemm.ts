/**
 * `npm run bench -- gemm [--model base|d128|vit-tiny] [--spec JSON] [--reps N] [--json]`: the engine's packed
 * SGEMM (kernels.c `sgemm`) against tfjs's matMul (XNNPACK on wasm) on the shapes of the model's
 * frozen projections in one training step (batch 32): forward x W + b, and the input gradient
 * dy W^T (tfjs: a plain matMul with the precomputed W^T, as the engine ran it before; ours: straight
 * from W). The two are timed in turn (A B A B ...) so that a change in the machine's load hits both;
 * median of the rounds, in CPU time (waiting for the core on a shared machine does not count). Prints GFLOP/s, the speed-up, whether the engine routes that shape to its
 * GEMM (ops.ts `ownGemmPays`), and the GEMM time of one step both ways (each shape times its count).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend';
import { gemm, ownGemmPays } from '../src/engine/model/ops';
import type { VitSpec } from '../src/engine/model/types';
import { numPatches } from '../src/engine/model/vit';
import { Rng } from '../src/engine/rng';
import { stepShape } from './step';
import { median } from './median';

interface GemmRow { what: string; M: number; K: number; N: number; count: number; tfjsMs: number; ownMs: number; routed: boolean }

/** The frozen projections' products of one step at batch 32 (LoRA on q, v: every base weight frozen), with their counts. */
export function stepGemmShapes(spec: VitSpec, batch = 32): { what: string; M: number; K: number; N: number; count: number }[] {
  const np = numPatches(spec), T = np + 1, d = spec.dim, m = spec.mlpDim, pd = spec.patchSize ** 2 * spec.channels;
  const full = spec.depth - 1; // the last block runs q, o and the MLP on the CLS rows only
  const R = batch * T;
  return [
    { what: 'patch embedding', M: batch * np, K: pd, N: d, count: 1 },
    { what: 'q k v o forward', M: R, K: d, N: d, count: 4 * full + 2 },
    { what: 'q k v o input grad', M: R, K: d, N: d, count: 4 * (full - 1) + 1 + 2 }, // block 0 needs no q, k, v input gradient
    { what: 'fc1 forward', M: R, K: d, N: m, count: full },
    { what: 'fc1 input grad', M: R, K: m, N: d, count: full },
    { what: 'fc2 forward', M: R, K: m, N: d, count: full },
    { what: 'fc2 input grad', M: R, K: d, N: m, count: full },
    { what: 'last block q, o (CLS rows), both ways', M: batch, K: d, N: d, count: 4 },
  ];
}

export async function benchGemm(opts: { model?: string; spec?: string; reps?: number; json?: boolean } = {}): Promise<GemmRow[]> {
  await initBackend('wasm');
  const chosen = stepShape(opts.model, opts.spec), s = chosen.spec;
  const rng = new Rng('bench-gemm');
  const rows: GemmRow[] = [];
  for (const sh of stepGemmShapes(s)) {
    const { M, K, N } = sh, grad = sh.what.includes('grad');
    // forward: x [M, K] W [K, N] + b; input grad: dy [M, K'] W^T with W [N, K'] (K' = K here)
    const x = tf.tensor2d(rng.normalArray(M * K), [M, K]);
    const W = grad ? tf.tensor2d(rng.normalArray(N * K), [N, K]) : tf.tensor2d(rng.normalArray(K * N), [K, N]);
    const WT = tf.transpose(W) as tf.Tensor2D, bias = tf.tensor1d(rng.normalArray(N));
    const viaTfjs = () => (grad ? tf.matMul(x, WT) : tf.fused.matMul({ a: x, b: W as tf.Tensor2D, bias }));
    const viaOwn = () => (grad ? gemm(x, W as tf.Tensor2D, { transposeB: true }) : gemm(x, W as tf.Tensor2D, { bias }));
    const reps = opts.reps ?? Math.max(3, Math.min(200, Math.round(2e8 / (2 * M * K * N))));
    // CPU time of the thread's process, not wall time: waiting for the core on a shared machine does not count
    const time = (f: () => tf.Tensor) => { const c0 = process.cpuUsage(); for (let i = 0; i < reps; i++) f().dispose(); const c = process.cpuUsage(c0); return (c.user + c.system) / 1000 / reps; };
    for (let i = 0; i < 3; i++) { viaTfjs().dispose(); viaOwn().dispose(); }
    const a: number[] = [], b: number[] = [];
    for (let r = 0; r < 7; r++) { a.push(time(viaTfjs)); b.push(time(viaOwn)); }
    rows.push({ ...sh, tfjsMs: median(a), ownMs: median(b), routed: ownGemmPays(M, K, N) });
    tf.dispose([x, W, WT, bias]);
  }
  const gf = (r: GemmRow, ms: number) => (2 * r.M * r.K * r.N / ms / 1e6).toFixed(1);
  process.stdout.write(`GEMMs of one training step, model ${chosen.name} (batch 32), wasm; median of 7 alternating rounds, CPU time\n`);
  for (const r of rows) {
    process.stdout.write(`  ${r.what.padEnd(38)} ${`${r.M}x${r.K}x${r.N}`.padEnd(13)} x${String(r.count).padEnd(3)} tfjs ${r.tfjsMs.toFixed(3)} ms (${gf(r, r.tfjsMs)} GFLOP/s)  `
      + `engine ${r.ownMs.toFixed(3)} ms (${gf(r, r.ownMs)} GFLOP/s)  ${(r.tfjsMs / r.ownMs).toFixed(2)}x  ${r.routed ? 'routed to the engine GEMM' : 'stays on tfjs'}\n`);
  }
  const all = (f: (r: GemmRow) => number) => rows.reduce((t, r) => t + r.count * f(r), 0);
  const before = all((r) => r.tfjsMs), after = all((r) => (r.routed ? r.ownMs : r.tfjsMs));
  process.stdout.write(`one step's frozen-projection GEMMs: ${before.toFixed(1)} ms on tfjs, ${after.toFixed(1)} ms as routed now (${(before / after).toFixed(2)}x)\n`);
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'gemm', model: chosen.name, rows, beforeMs: before, afterMs: after }) + '\n');
  return rows;
}
