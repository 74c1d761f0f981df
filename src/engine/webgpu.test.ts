/**
 * The WebGPU backend on a software Vulkan device (SwiftShader, from Debian's chromium package, with
 * the loader from libvulkan1; .ci/run installs both). Every op the engine runs on webgpu (the
 * fused WGSL kernels of model/webgpuKernels.ts and the tfjs ops), forward and gradient, through
 * whole models (ViT and text encoder: linear layers, LoRA branch, layer norm, GELU, attention with
 * its mask, embedding gather, softmax cross-entropy) and the Adam step, agrees with the cpu backend
 * within 1e-4 relative; a seeded run is identical twice;
 * no tensor is left behind per round; `auto` skips the software adapter with its reason; a machine
 * without any Vulkan driver gets an error naming what to install.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from './backend';
import { LocalOptimizer, emptyOptimizerState } from './fl/optimizer';
import { createModel } from './model';
import { initTextWeights } from './model/text';
import type { LoraModel, ModelSpec, TextSpec, VitSpec } from './model/types';
import { initVitWeights, numPatches } from './model/vit';
import { Rng } from './rng';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const hasLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some((f) => fs.existsSync(f));
const available = fs.existsSync(ICD) && hasLoader;
const why = available ? '' : ` (SKIPPED: needs ${fs.existsSync(ICD) ? '' : `Debian chromium's SwiftShader ICD at ${ICD}`}${!fs.existsSync(ICD) && !hasLoader ? ' and ' : ''}${hasLoader ? '' : 'the Vulkan loader (apt-get install libvulkan1)'}; .ci/run installs them)`;
const root = path.resolve(__dirname, '../..');

const vitSpec: VitSpec = { arch: 'vit', imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpDim: 32, numClasses: 3 };
const textSpec: TextSpec = { arch: 'text', vocabSize: 30, maxLen: 8, seqLen: 6, padId: 0, dim: 16, depth: 2, heads: 2, mlpDim: 32, numClasses: 3, norm: 'post', pooling: 'cls', pooler: true };
const lora = { rank: 4, alpha: 8, targets: ['q', 'k', 'v', 'o', 'fc1', 'fc2'] };

/** Logits and the gradient of a loss to every trainable tensor, read as plain arrays, on the current backend. */
async function forwardAndGrads(spec: ModelSpec, x: () => tf.Tensor2D, batch: number): Promise<Record<string, Float32Array>> {
  const rng = new Rng('webgpu-test');
  const base = spec.arch === 'vit' ? initVitWeights(spec, rng.child('base')) : initTextWeights(spec, rng.child('base'));
  const m: LoraModel = createModel(spec, base, lora, 'lora', rng.child('init'));
  // non-zero B so every LoRA branch carries a signal
  for (const [name, v] of m.vars) if (name.endsWith('lora_b')) v.assign(tf.tensor(new Rng(name).normalArray(v.size, 0.3), v.shape));
  const kept = tf.tidy(() => {
    const input = x();
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % spec.numClasses), 'int32'), spec.numClasses);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, m.forward(input, batch)) as tf.Scalar, [...m.vars.values()]);
    const out: Record<string, tf.Tensor> = { loss: value, logits: m.forward(input, batch) };
    for (const [name, v] of m.vars) out[`grad:${name}`] = grads[v.name];
    return out;
  });
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(kept)) { out[k] = await t.data() as Float32Array; t.dispose(); }
  m.dispose();
  return out;
}

/** The same computation on webgpu and on cpu. */
async function onBoth(f: () => Promise<Record<string, Float32Array>>): Promise<[Record<string, Float32Array>, Record<string, Float32Array>]> {
  await tf.setBackend('webgpu');
  const gpu = await f();
  await tf.setBackend('cpu');
  const cpu = await f();
  await tf.setBackend('webgpu');
  return [gpu, cpu];
}

function expectClose(gpu: Record<string, Float32Array>, cpu: Record<string, Float32Array>, tol = 1e-4): void {
  expect(Object.keys(gpu).sort()).toEqual(Object.keys(cpu).sort());
  for (const k of Object.keys(cpu)) {
    const a = gpu[k], b = cpu[k];
    const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
    let worst = 0;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
    expect(worst, `${k}: largest difference relative to max |cpu| ${scale.toExponential(2)}`).toBeLessThan(tol);
  }
}

describe.skipIf(!available)(`webgpu backend on SwiftShader${why}`, () => {
  let info: BackendInfo;
  beforeAll(async () => {
    process.env.VK_ICD_FILENAMES ??= ICD;
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    info = await initBackend('webgpu');
  }, 120_000);
  // test files share a process (vitest.config.mts): leave tfjs on its default backend, wasm
  afterAll(async () => { await initBackend('wasm'); });

  it('asked for by name, it takes the software adapter and records it', () => {
    expect(info).toMatchObject({ requested: 'webgpu', name: 'webgpu', tfBackend: 'webgpu' });
    expect(info.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', software: true });
    expect(info.adapter!.limits.maxStorageBufferBindingSize).toBeGreaterThan(1e6);
  });

  it('ViT forward and every gradient (linear, LoRA, layer norm, GELU, attention, CLS-only last block) agree with cpu', async () => {
    const n = numPatches(vitSpec), pd = vitSpec.patchSize ** 2, batch = 3;
    const data = new Rng('px').normalArray(batch * n * pd);
    const [gpu, cpu] = await onBoth(() => forwardAndGrads(vitSpec, () => tf.tensor2d(data, [batch * n, pd]), batch));
    expectClose(gpu, cpu);
  }, 300_000);

  it('text encoder forward and gradients (embedding gather, padding mask, post-norm, pooler) agree with cpu', async () => {
    const T = textSpec.seqLen, batch = 3, r = new Rng('tok');
    const ids = new Float32Array(batch * T);
    [6, 3, 1].forEach((len, i) => { for (let j = 0; j < len; j++) ids[i * T + j] = 1 + r.int(textSpec.vocabSize - 1); });
    const [gpu, cpu] = await onBoth(() => forwardAndGrads(textSpec, () => tf.tensor2d(ids, [batch * T, 1]), batch));
    expectClose(gpu, cpu);
  }, 300_000);

  it('an Adam step of the local optimizer agrees with cpu', async () => {
    const step = async () => {
      const w = tf.variable(tf.tensor1d(new Rng('w').normalArray(64)), true, `w${Math.random()}`);
      const opt = new LocalOptimizer({ name: 'adam', lr: 0.01, momentum: 0 }, new Map([['w', w]]), emptyOptimizerState());
      const target = tf.tensor1d(new Rng('t').normalArray(64));
      for (let i = 0; i < 3; i++) opt.minimize(() => tf.sum(tf.square(tf.sub(w, target)))).dispose();
      const out = { w: await w.data() as Float32Array, ...Object.fromEntries(Object.entries((await opt.finish()).m).map(([k, v]) => [`m:${k}`, v])) };
      w.dispose(); target.dispose();
      return out;
    };
    const [gpu, cpu] = await onBoth(step);
    expectClose(gpu, cpu, 1e-5);
  }, 120_000);

  it('a seeded run is identical twice on the same adapter, and leaves no tensor behind per round', async () => {
    const { buildTrainer } = await import('../service/runner');
    const { parseConfig } = await import('./config');
    const { encodeSafetensors } = await import('./model/safetensors');
    // a one-block model at patch 14 (4 tokens) on the shipped 28x28 data: SwiftShader compiles every kernel shape once
    const tiny: VitSpec = { ...vitSpec, imageSize: 28, patchSize: 14, depth: 1, numClasses: 10 };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-webgpu-'));
    fs.writeFileSync(path.join(dir, 'tiny.safetensors'), encodeSafetensors(initVitWeights(tiny, new Rng('tiny')), { 'fedlora.spec': JSON.stringify(tiny) }));
    const cfg = parseConfig({
      seed: 3, backend: 'webgpu', model: { name: path.join(dir, 'tiny.safetensors') }, data: { trainSamples: 64, testSamples: 32 },
      federation: { numClients: 2, clientsPerRound: 2, rounds: 2 }, train: { localSteps: 1, batchSize: 16 },
      compression: { method: 'soft', rho: 0.5 }, soft: { lambda: 0.01 }, eval: { batchSize: 32 },
    });
    const run = async () => {
      const t = await buildTrainer(cfg, root);
      const rows = [await t.runRound()];
      const n = tf.memory().numTensors;
      rows.push(await t.runRound());
      expect(tf.memory().numTensors).toBe(n);
      t.dispose();
      return rows.map(({ wallMs, compressMs, phaseMs, ...rest }) => rest);
    };
    const a = await run(), b = await run();
    expect(a[1].testAcc).not.toBeNull();
    expect(b).toEqual(a);
  }, 600_000);
});

describe.skipIf(!available)(`webgpu backend selection${why}`, () => {
  const pick = (env: Record<string, string>, preference: string) => spawnSync(process.execPath, ['--import', 'tsx', '-e',
    `import('${path.join(__dirname, 'backend.ts').replace(/\\/g, '/')}').then(async (m) => { try { const i = await (m.initBackend ?? m.default.initBackend)('${preference}'); console.log(JSON.stringify(i)); } catch (e) { console.log(JSON.stringify({ error: e.message })); } process.exit(0); })`],
  { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', FEDLORA_BACKEND: '', ...env } });
  const last = (r: ReturnType<typeof pick>) => JSON.parse(r.stdout.trim().split('\n').pop() || '{}');

  it('auto skips the software adapter, saying so, and takes wasm', () => {
    const i = last(pick({ VK_ICD_FILENAMES: ICD }, 'auto'));
    expect(i.name).toBe('wasm');
    expect(i.skipped).toEqual(expect.arrayContaining([{ name: 'webgpu', reason: expect.stringMatching(/software adapter \(swiftshader\) skipped/) }]));
  });

  it('webgpu by name without any Vulkan driver fails naming what to install', () => {
    const i = last(pick({ VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' }, 'webgpu'));
    expect(i.error).toMatch(/no WebGPU adapter.*libvulkan1.*Vulkan driver/);
  });
});
