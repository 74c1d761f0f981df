/**
 * `npm run bench -- backends [--backends wasm,webgpu,...] [--model base|vit-tiny] [--steps N] [--warmup N] [--batch N] [--profile] [--json]`:
 * one local training step (batch 32 unless --batch, Adam, LoRA r=8 alpha=16 on q and v, base frozen, 10-class
 * head) on each backend side by side, each in a fresh process (a process initialises one tfjs
 * backend), with the GPU adapter named. `base`: the shipped model (d=64, patch 7: 16 tokens + CLS);
 * `vit-tiny`: the ViT-Tiny shape (d=192, depth 12, 3 heads, MLP 768) at patch 4 (49 tokens + CLS),
 * random weights. The step is timed until its loss is read back (a GPU backend queues work, so the
 * read is what makes the step complete). Median of N steps after a warm-up; ratios against wasm.
 * `--profile` lists one step's kernels, and on webgpu counts its compute dispatches (with the
 * fused WGSL kernels, or the tfjs op chains under FEDLORA_WEBGPU_KERNELS=tfjs).
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { initBackend, type BackendInfo, type BackendPreference } from '../src/engine/backend';
import { crossEntropy, makeBatch } from '../src/engine/fl/client';
import { LocalOptimizer, emptyOptimizerState } from '../src/engine/fl/optimizer';
import { createModel } from '../src/engine/model';
import { patchDataset } from '../src/engine/model/input';
import type { VitSpec, WeightMap } from '../src/engine/model/types';
import { initVitWeights, VIT_TINY_28 } from '../src/engine/model/vit';
import { Rng } from '../src/engine/rng';
import { countDispatches } from '../src/engine/model/webgpuKernels';
import { loadIdxFolder, loadModelFile } from '../src/service/data/models';
import { resolveDataset, resolveModel } from '../src/service/data/resources';
import { median } from './median';

export const BENCH_MODELS = {
  base: null,
  'vit-tiny': VIT_TINY_28,
} as const;
export type BenchModel = keyof typeof BENCH_MODELS;

export interface BackendStep {
  backend: string; ok: boolean; error?: string; adapter?: BackendInfo['adapter']; medianMs?: number; minMs?: number; maxMs?: number; firstMs?: number;
  /** One profiled step: kernels run and the kernel time of the slowest kernel kinds (ms, where the backend reports it). */
  profile?: { kernels: number; top: [string, number, number][]; dispatches?: number };
}


/** The timed steps on the backend this process initialises (the child's side). */
export async function stepOn(backendName: string, model: BenchModel, steps: number, warmup: number, profile = false, batch = 32): Promise<BackendStep> {
  const backend = await initBackend(backendName as BackendPreference);
  const root = path.resolve('.');
  const { train } = loadIdxFolder(resolveDataset('fashion-mnist', root));
  let spec: VitSpec, base: WeightMap;
  const rng = new Rng('bench-backends');
  if (model === 'base') {
    const loaded = loadModelFile(resolveModel('vit-fmnist-base', root));
    spec = { ...(loaded.spec as VitSpec), numClasses: train.numClasses };
    base = { ...loaded.weights };
  } else {
    spec = BENCH_MODELS[model];
    base = initVitWeights(spec, rng.child('init'));
  }
  base['head.w'] = { shape: [spec.dim, spec.numClasses], data: rng.child('head').normalArray(spec.dim * spec.numClasses, 0.02) };
  base['head.b'] = { shape: [spec.numClasses], data: new Float32Array(spec.numClasses) };
  const data = patchDataset(train, spec, 1024);
  const m = createModel(spec, base, { rank: 8, alpha: 16, targets: ['q', 'v'] }, 'lora', rng.child('lora'));
  const opt = new LocalOptimizer({ name: 'adam', lr: 0.003, momentum: 0 }, m.vars, emptyOptimizerState());
  const ts: number[] = [];
  for (let s = 0; s < warmup + steps; s++) {
    const idx = Int32Array.from({ length: batch }, (_, i) => (s * batch + i) % data.n);
    const t0 = performance.now();
    const { x, y } = makeBatch(data, idx);
    const loss = opt.minimize(() => crossEntropy(m, x, y, batch));
    await loss.data();
    loss.dispose(); x.dispose(); y.dispose();
    ts.push(performance.now() - t0);
  }
  let prof: BackendStep['profile'];
  if (profile) {
    const idx = Int32Array.from({ length: batch }, (_, i) => i);
    const { x, y } = makeBatch(data, idx);
    const p = await tf.profile(async () => { const l = opt.minimize(() => crossEntropy(m, x, y, batch)); await l.data(); l.dispose(); });
    const by = new Map<string, [number, number]>();
    for (const k of p.kernels) { const e = by.get(k.name) ?? [0, 0]; by.set(k.name, [e[0] + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), e[1] + 1]); }
    prof = { kernels: p.kernels.length, top: [...by.entries()].sort((a, b) => b[1][0] - a[1][0]).slice(0, 10).map(([n, [ms, c]]) => [n, Number(ms.toFixed(2)), c]) };
    if (backend.name === 'webgpu') {
      prof.dispatches = (await countDispatches(async () => { const l = opt.minimize(() => crossEntropy(m, x, y, batch)); await l.data(); l.dispose(); })).dispatches;
    }
    x.dispose(); y.dispose();
  }
  await opt.finish();
  m.dispose();
  const timed = ts.slice(warmup);
  return { backend: backend.name, ok: true, adapter: backend.adapter, medianMs: median(timed), minMs: Math.min(...timed), maxMs: Math.max(...timed), firstMs: ts[0], profile: prof };
}

export async function benchBackends(opts: { backends?: string; model?: string; steps?: number; warmup?: number; batch?: number; json?: boolean; child?: boolean; profile?: boolean } = {}): Promise<BackendStep[]> {
  const model = (opts.model ?? 'base') as BenchModel;
  if (!(model in BENCH_MODELS)) throw new Error(`--model: one of ${Object.keys(BENCH_MODELS).join(', ')}, got ${model}`);
  const steps = opts.steps ?? 20, warmup = opts.warmup ?? 3, batch = opts.batch ?? 32;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch: a whole number >= 1, got ${opts.batch}`);
  const names = (opts.backends ?? 'wasm,webgpu').split(',').filter(Boolean);
  if (opts.child) {
    const r = await stepOn(names[0], model, steps, warmup, opts.profile, batch).catch((e: Error): BackendStep => ({ backend: names[0], ok: false, error: e.message.split('\n')[0] }));
    process.stdout.write(JSON.stringify(r) + '\n');
    return [r];
  }
  const results: BackendStep[] = [];
  for (const name of names) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], 'backends', '--child', '--backends', name, '--model', model, '--steps', String(steps), '--warmup', String(warmup), '--batch', String(batch), ...(opts.profile ? ['--profile'] : [])],
      { encoding: 'utf8', timeout: 1_200_000, env: { ...process.env, FEDLORA_BACKEND: '' } });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    let r: BackendStep;
    try { r = JSON.parse(line); } catch { r = { backend: name, ok: false, error: `child exited ${child.status ?? child.signal}: ${(child.stderr || line).trim().split('\n').pop()}` }; }
    results.push(r);
  }
  const wasm = results.find((r) => r.backend === 'wasm' && r.ok)?.medianMs;
  process.stdout.write(`one training step, model ${model} (batch ${batch}, Adam, LoRA r=8 on q,v), median of ${steps} after ${warmup} warm-up:\n`);
  for (const r of results) {
    if (!r.ok) { process.stdout.write(`  ${r.backend}: not available: ${r.error}\n`); continue; }
    const a = r.adapter ? ` [${r.adapter.vendor} / ${r.adapter.architecture} / ${r.adapter.description}${r.adapter.software ? ', software' : ''}]` : '';
    process.stdout.write(`  ${r.backend}${a}: ${r.medianMs!.toFixed(1)} ms (min ${r.minMs!.toFixed(1)}, max ${r.maxMs!.toFixed(1)}; first step ${r.firstMs!.toFixed(0)} ms)`
      + `${wasm && r.backend !== 'wasm' ? `, ${(wasm / r.medianMs!).toFixed(2)}x wasm` : ''}\n`);
    if (r.profile) process.stdout.write(`    profile of one step: ${r.profile.kernels} kernels${r.profile.dispatches !== undefined ? `, ${r.profile.dispatches} compute dispatches (FEDLORA_WEBGPU_KERNELS=${process.env.FEDLORA_WEBGPU_KERNELS || 'fused'})` : ''}; kernel ms by kind: ${r.profile.top.map(([n, ms, c]) => `${n} ${ms} (${c})`).join(', ')}\n`);
  }
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'backends', model, steps, results }) + '\n');
  return results;
}
