/**
 * The fused WGSL kernels of model/webgpuKernels.ts on a software Vulkan device (SwiftShader, as in
 * webgpu.test.ts): each agrees with the tfjs op chain it replaces on the same backend (forward and
 * gradients, sizes that are not multiples of 4, sums longer than a workgroup; attention with the op
 * chain on the cpu backend, masked or not, Tq = 1 or T, 1 or 3 heads), runs the number of
 * dispatches it promises, is bit-identical when run twice, and a training step launches fewer
 * dispatches with them than without by at least what the per-op counts add up to.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { crossEntropy } from './fl/client';
import { LocalOptimizer, emptyOptimizerState, type OptimizerState } from './fl/optimizer';
import { createModel } from './model';
import { attention, attentionOps, gelu, layerNorm, loraAdd } from './model/ops';
import type { VitSpec } from './model/types';
import { initVitWeights, numPatches } from './model/vit';
import { countDispatches, registerWebgpuKernels, unregisterWebgpuKernels, webgpuKernelMode } from './model/webgpuKernels';
import { Rng } from './rng';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const hasLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some((f) => fs.existsSync(f));
const available = fs.existsSync(ICD) && hasLoader;
const why = available ? '' : ` (SKIPPED: needs Debian chromium's SwiftShader ICD at ${ICD} and the Vulkan loader (apt-get install libvulkan1); .ci/run installs them)`;

const rand = (name: string, shape: number[], sd = 1) => tf.tensor(new Rng(name).normalArray(shape.reduce((a, b) => a * b, 1), sd), shape);

/** Run `f` with the fused webgpu kernels (true) or the tfjs op chains (false); read its tensors back. */
async function withKernels(fused: boolean, f: () => Record<string, tf.Tensor>): Promise<{ out: Record<string, Float32Array>; dispatches: number }> {
  if (fused) registerWebgpuKernels(); else unregisterWebgpuKernels();
  const { value, dispatches } = await countDispatches(() => tf.tidy(f));
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(value)) { out[k] = await t.data() as Float32Array; t.dispose(); }
  return { out, dispatches };
}

function expectClose(got: Record<string, Float32Array>, want: Record<string, Float32Array>, tol: number): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const k of Object.keys(want)) {
    expect(got[k].length, k).toBe(want[k].length);
    const scale = Math.max(1e-3, ...Array.from(want[k], Math.abs));
    let worst = 0;
    for (let i = 0; i < want[k].length; i++) worst = Math.max(worst, Math.abs(got[k][i] - want[k][i]) / scale);
    expect(worst, `${k}: largest difference relative to max |op chain| ${scale.toExponential(2)}`).toBeLessThan(tol);
  }
}

/**
 * y = f(xs) and the gradients to xs for a random upstream gradient dy (the first input's shape):
 * the forward pass runs twice (once for y, once under tf.grads), the backward once.
 */
function valueAndGrads(names: string[], xs: tf.Tensor[], f: (...xs: tf.Tensor[]) => tf.Tensor, dyShape: number[]): Record<string, tf.Tensor> {
  const y = f(...xs);
  const grads = tf.grads((...a: tf.Tensor[]) => f(...a))(xs, rand('dy', dyShape));
  return { y, ...Object.fromEntries(names.map((n, i) => [`d${n}`, grads[i]])) };
}

describe('FEDLORA_WEBGPU_KERNELS', () => {
  afterEach(() => { delete process.env.FEDLORA_WEBGPU_KERNELS; });
  it('is fused by default, tfjs on request, and anything else is an error naming the variable and its values', () => {
    expect(webgpuKernelMode()).toBe('fused');
    process.env.FEDLORA_WEBGPU_KERNELS = 'tfjs';
    expect(webgpuKernelMode()).toBe('tfjs');
    process.env.FEDLORA_WEBGPU_KERNELS = 'wgsl';
    expect(() => webgpuKernelMode()).toThrow(/FEDLORA_WEBGPU_KERNELS: must be "fused" \(the default\) or "tfjs", got "wgsl"/);
  });
});

describe.skipIf(!available)(`fused WGSL kernels on SwiftShader${why}`, () => {
  beforeAll(async () => {
    process.env.VK_ICD_FILENAMES ??= ICD;
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    await initBackend('webgpu');
  }, 120_000);
  // test files share a process (vitest.config.mts): leave tfjs on its default backend, wasm
  afterAll(async () => { await initBackend('wasm'); });
  afterEach(() => registerWebgpuKernels());

  /**
   * Fused and op chain on webgpu: close; the fused one bit-identical twice and in exactly
   * 2 forward + 1 backward passes' dispatches (valueAndGrads), fewer than the chain.
   */
  async function compare(f: () => Record<string, tf.Tensor>, forward: number, backward: number, tol = 1e-4): Promise<void> {
    const chain = await withKernels(false, f);
    const fused = await withKernels(true, f);
    const again = await withKernels(true, f);
    expectClose(fused.out, chain.out, tol);
    expect(again.out).toEqual(fused.out);
    console.log(`dispatches: op chain ${chain.dispatches}, fused ${fused.dispatches}`);
    expect(fused.dispatches).toBe(2 * forward + backward);
    expect(chain.dispatches).toBeGreaterThan(fused.dispatches);
  }

  it('layer norm, forward and gradients to x, gain and bias (133 rows of 7): 3 dispatches forward, 3 backward', async () => {
    await compare(() => valueAndGrads(['x', 'g', 'b'], [rand('x', [133, 7], 2), rand('g', [7]), rand('b', [7])], (x, g, b) => layerNorm(x as tf.Tensor2D, g, b, 1e-5), [133, 7]), 3, 3);
  }, 300_000);

  it('exact GELU, forward and gradient ([5, 7]): 2 dispatches forward, 1 backward', async () => {
    await compare(() => valueAndGrads(['x'], [rand('x', [5, 7], 2)], (x) => gelu(x), [5, 7]), 2, 1);
  }, 300_000);

  it('the LoRA branch y0 + scale (x a) b, forward and gradients to y0, x, a and b (N 70, d_in 7, r 3, d_out 6): 2 dispatches forward, 4 backward', async () => {
    const ins = () => [rand('y0', [70, 6]), rand('x', [70, 7]), rand('a', [7, 3], 0.5), rand('b', [3, 6], 0.5)];
    await compare(() => valueAndGrads(['y0', 'x', 'a', 'b'], ins(), (y0, x, a, b) => loraAdd(y0 as tf.Tensor2D, x as tf.Tensor2D, a, b, 2.5), [70, 6]), 2, 4);
  }, 300_000);

  /**
   * Attention, forward (o) and gradients to q, k and v, on webgpu (through `attention`, which takes
   * the fused kernel there) against the op chain `attentionOps` on the cpu backend. Mask: the last
   * b + 1 keys of sample b padded out (-1e9, as the text model's mask) and the others shifted by
   * random values, so a mask ignored or added to the wrong scores shows.
   */
  const attentionCases = [
    { batch: 2, Tq: 7, T: 7, heads: 3, hd: 5, masked: true },
    { batch: 2, Tq: 1, T: 7, heads: 3, hd: 5, masked: false },
    { batch: 3, Tq: 17, T: 17, heads: 1, hd: 7, masked: false },
    { batch: 2, Tq: 1, T: 17, heads: 3, hd: 3, masked: true },
    { batch: 2, Tq: 17, T: 17, heads: 3, hd: 6, masked: true },
  ];
  for (const { batch, Tq, T, heads, hd, masked } of attentionCases) {
    it(`attention, batch ${batch}, ${Tq} query and ${T} key rows, ${heads} heads of ${hd}${masked ? ', masked' : ''}: o, dq, dk, dv as the op chain on cpu within 1e-4, the same bits twice, 2 dispatches forward, 4 backward (fewer than the op chain)`, async () => {
      const d = heads * hd, shape = { batch, T, heads };
      const noise = new Rng('mask').normalArray(batch * T, 0.5);
      const maskValues = Array.from({ length: batch * T }, (_, i) => (i % T >= T - 1 - Math.floor(i / T) ? -1e9 : noise[i]));
      const f = (op: typeof attention) => () => {
        const mask = masked ? tf.tensor2d(maskValues, [batch, T]) : undefined;
        return valueAndGrads(['q', 'k', 'v'], [rand('q', [batch * Tq, d]), rand('k', [batch * T, d]), rand('v', [batch * T, d])],
          (q, k, v) => op(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, shape, mask), [batch * Tq, d]);
      };
      const chain = await withKernels(false, f(attention));
      const fused = await withKernels(true, f(attention));
      const again = await withKernels(true, f(attention));
      await tf.setBackend('cpu');
      const cpu: Record<string, Float32Array> = {};
      try {
        for (const [k, t] of Object.entries(tf.tidy(f(attentionOps)))) { cpu[k] = await t.data() as Float32Array; t.dispose(); }
      } finally { await tf.setBackend('webgpu'); }
      expectClose(fused.out, cpu, 1e-4);
      expect(again.out).toEqual(fused.out);
      // 2 forward passes + 1 backward (valueAndGrads), plus the mask's zero gradient (one fill)
      console.log(`dispatches: op chain ${chain.dispatches}, fused ${fused.dispatches}`);
      expect(fused.dispatches).toBe(2 * 2 + 4 + (masked ? 1 : 0));
      expect(chain.dispatches).toBeGreaterThan(fused.dispatches);
    }, 300_000);
  }

  it('Adam, three steps on tensors of 21 and 5 values: 3 dispatches per tensor per step, weights and moments as the op chain', async () => {
    const run = async (fused: boolean) => {
      if (fused) registerWebgpuKernels(); else unregisterWebgpuKernels();
      const vars = new Map([['w', tf.variable(rand('w', [7, 3]), true, `w${Math.random()}`)], ['b', tf.variable(rand('b', [5]), true, `b${Math.random()}`)]]);
      const opt = new LocalOptimizer({ name: 'adam', lr: 0.01, momentum: 0 }, vars, emptyOptimizerState());
      const tw = rand('tw', [7, 3]), tb = rand('tb', [5]);
      const loss = () => tf.add(tf.sum(tf.square(tf.sub(vars.get('w')!, tw))), tf.sum(tf.square(tf.sub(vars.get('b')!, tb)))) as tf.Scalar;
      // the dispatches of the update alone: the step minus the loss and its gradient, counted just
      // before (small ops on tensors still on the CPU run there, so the count changes after step 1)
      const grad = () => countDispatches(async () => {
        const value = tf.tidy(() => { const { value: v, grads } = tf.variableGrads(loss, [...vars.values()]); Object.values(grads).forEach((g) => g.dispose()); return v; });
        await value.data(); value.dispose();
      });
      const steps: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = (await grad()).dispatches;
        steps.push((await countDispatches(async () => { const l = opt.minimize(loss); await l.data(); l.dispose(); })).dispatches - before);
      }
      const state: OptimizerState = await opt.finish();
      const out: Record<string, Float32Array> = {};
      for (const [k, v] of vars) { out[k] = await v.data() as Float32Array; out[`m:${k}`] = state.m[k]; out[`v:${k}`] = state.v[k]; v.dispose(); }
      tw.dispose(); tb.dispose();
      return { out, steps };
    };
    const chain = await run(false), fused = await run(true), again = await run(true);
    expectClose(fused.out, chain.out, 1e-5);
    expect(again.out).toEqual(fused.out);
    expect(fused.steps).toEqual([6, 6, 6]);
    expect(chain.steps.every((n) => n >= 12 * 2)).toBe(true);
  }, 300_000);

  it('a training step of a ViT with LoRA launches fewer dispatches with the kernels, by at least the per-op savings, with the same loss', async () => {
    // depth 2 at patch 7 on 14x14 inputs (4 tokens + CLS), LoRA r 4 on q, v and fc1; batch 3
    const spec: VitSpec = { arch: 'vit', imageSize: 14, channels: 1, patchSize: 7, dim: 12, depth: 2, heads: 2, mlpDim: 20, numClasses: 3 };
    const lora = { rank: 4, alpha: 8, targets: ['q', 'v', 'fc1'] };
    const batch = 3, np = numPatches(spec);
    const step = async (fused: boolean) => {
      if (fused) registerWebgpuKernels(); else unregisterWebgpuKernels();
      const rng = new Rng('step');
      const m = createModel(spec, initVitWeights(spec, rng.child('base')), lora, 'lora', rng.child('lora'));
      const opt = new LocalOptimizer({ name: 'adam', lr: 0.01, momentum: 0 }, m.vars, emptyOptimizerState());
      const x = rand('px', [batch * np, spec.patchSize ** 2]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2], 'int32'), 3);
      const losses: number[] = [];
      const counts: number[] = [];
      for (let s = 0; s < 2; s++) {
        const { dispatches } = await countDispatches(async () => { const l = opt.minimize(() => crossEntropy(m, x as tf.Tensor2D, y as tf.Tensor2D, batch)); losses.push((await l.data())[0]); l.dispose(); });
        counts.push(dispatches);
      }
      const nVars = m.vars.size;
      await opt.finish(); m.dispose(); x.dispose(); y.dispose();
      return { losses, counts, nVars };
    };
    const chain = await step(false), fused = await step(true);
    console.log(`step dispatches: op chain ${chain.counts}, fused ${fused.counts}`);
    expect(fused.counts[1]).toBe(fused.counts[0]);
    expect(fused.losses[0]).toBeCloseTo(chain.losses[0], 5);
    expect(Math.abs(fused.losses[1] - chain.losses[1])).toBeLessThan(1e-4 * Math.abs(chain.losses[1]) + 1e-6);
    // at least: Adam 12 -> 3 per trainable tensor; per block two layer norms (forward and backward
    // ~40 -> 6, counted as >= 10 saved), one GELU (>= 5 saved) and three LoRA branches (13 -> 6:
    // >= 5 saved); attention (the op chain's forward and backward >= 11, half its 22 for two forward
    // passes and a backward in the attention tests above; the kernels 2 + 4: >= 5 saved); the final
    // layer norm (>= 10)
    const atLeast = 9 * fused.nVars + spec.depth * (2 * 10 + 5 + 3 * 5 + 5) + 10;
    expect(chain.counts[0] - fused.counts[0]).toBeGreaterThanOrEqual(atLeast);
  }, 600_000);
});
