/**
 * `npm run bench -- step [--model base|d128|vit-tiny] [--spec JSON] [--steps N] [--warmup N] [--runs N] [--engine-only] [--ab-gemm | --ab-attention | --ab-kernels REV] [--profile] [--kernel-times] [--backend NAME] [--json]`:
 * one local training step of the default experiment (batch 32, Adam, LoRA r=8 alpha=16 on q and v,
 * base frozen, fresh 10-class head) on Fashion-MNIST, through the engine's own code (createModel,
 * makeBatch, crossEntropy, LocalOptimizer.minimize: the body of localTrain's loop). `base`: the
 * shipped model and weights; `d128`, `vit-tiny` or `--spec` (a ViT spec on 28x28 grey images):
 * that shape with seeded random weights. Median of N steps (default 20) after a warm-up (--warmup N,
 * or by default at least 3 s and 5 steps: V8 compiles the JavaScript as it runs), with the
 * spread (min, max). Then the same step in PyTorch (bench/reference/vit_lora_step.py, random
 * weights, 1 thread), both variants, each run in a fresh process: as usually written (every block
 * on every token) and with the engine's CLS-only last block. The headline is the ratio to the
 * faster variant. With --runs N the bench goes N rounds of [--steps steps of the engine, then each
 * variant once] (the variants' order alternating), and the headline is the median over rounds of
 * each round's ratio: the speed of a shared machine drifts over minutes, and a ratio between
 * measurements taken minutes apart measured that drift (1.48x to 2.51x at ViT-Tiny in three idle
 * runs with the engine first and all references after it).
 *
 * --ab-gemm: the engine's steps alternate between its own GEMM and tfjs's matMul (FEDLORA_GEMM;
 * the same bits either way), and both medians of CPU time are printed: the before/after of the GEMM
 * under the same machine load (the wall-time figures are the engine-GEMM steps only).
 * --profile: after the timed steps, one step under tf.profile: kernel time by kernel (the engine's
 * GEMM by shape), largest first. --kernel-times: every call of the engine's wasm kernels during the
 * timed steps is timed (per export, per step; the GEMM's GFLOP/s in the step), beside the step's CPU
 * time: what the rest (tfjs's own kernels and bookkeeping) costs.
 * --ab-attention: the same with the blocked attention kernels against the rowwise ones
 * (FEDLORA_ATTENTION; the same bits either way). --ab-kernels REV: the same with the fused kernels'
 * module committed at git revision REV (src/engine/model/native/kernels-wasm.ts) against this
 * tree's, for a before/after of a kernels.c change (the same bits where the change kept them).
 *
 * Every timing also reports its CPU share (CPU time / wall time of the timed steps): a process
 * that waited for the core (other work on a shared machine) shows it, and its figure is flagged.
 * The reference runs with glibc's malloc keeping freed memory (REFERENCE_ENV, which says why).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendPreference } from '../src/engine/backend';
import { crossEntropy, makeBatch } from '../src/engine/fl/client';
import { LocalOptimizer, emptyOptimizerState } from '../src/engine/fl/optimizer';
import { createModel } from '../src/engine/model';
import { patchDataset } from '../src/engine/model/input';
import { checkModelSpec } from '../src/engine/model/specCheck';
import type { VitSpec, WeightMap } from '../src/engine/model/types';
import { compileKernelsModule, useKernelsModule } from '../src/engine/model/kernels';
import { initVitWeights, VIT_TINY_28 } from '../src/engine/model/vit';
import { Rng } from '../src/engine/rng';
import { loadIdxFolder, loadModelFile } from '../src/service/data/models';
import { resolveDataset, resolveModel } from '../src/service/data/resources';
import { kernelsModuleBytes } from './kernels';
import { median } from './median';

export interface TorchResult { medianStepMs: number; minStepMs: number; maxStepMs: number; matmulGflops: number; torch: string; threads: number; clsOnly: boolean; cpuShare?: number; medianCpuMs?: number }

/** The named shapes: the shipped model, and two larger ones on the same 28x28 images (random weights). */
export const STEP_MODELS: Record<string, VitSpec | null> = {
  base: null,
  d128: { arch: 'vit', imageSize: 28, channels: 1, patchSize: 4, dim: 128, depth: 4, heads: 4, mlpDim: 256, numClasses: 10 },
  'vit-tiny': VIT_TINY_28,
};

export interface StepBenchResult {
  model: string; spec: VitSpec; backend: string; gemm: string; batch: number; steps: number;
  /** Warm-up steps before the timed ones (the engine's and each reference run's). */
  warmup: number;
  /** Timed engine steps in all (`steps` per round; with --ab-* half of them on the "before" kernels). */
  timedSteps: number;
  /** Pooled over every timed engine step of every round (`steps` per round). */
  tfjsMs: number; tfjsMinMs: number; tfjsMaxMs: number; tfjsCpuShare: number;
  /** Median CPU time of a step: what waiting for the core does not inflate (time-sharing does; a busy sibling core still can). */
  tfjsCpuMs: number;
  /** Every reference run, in the order run. */
  references: TorchResult[];
  /** Median over runs of the step median of each variant (null when not run). */
  torchUsualMs: number | null; torchClsOnlyMs: number | null;
  /** Each round: the engine's block of steps and the two reference runs just after it. */
  rounds: StepRound[];
  /** The headline: median over rounds of tfjs / the faster variant of that round (the mean of the middle two for an even count). */
  ratio: number | null;
  /** The faster variant of the round whose ratio is the headline (the lower middle one for an even count). */
  fasterVariant: 'usual' | 'cls-only' | null;
  torchError: string | null;
  loadAvg: number;
  /** --profile: kernel time of one profiled step by kernel (ms, with profiling overhead), largest first. */
  profile?: StepProfile;
  /** --kernel-times: the engine's wasm kernels per timed step, by export, largest first. */
  kernelTimes?: NativeTime[];
}

/** One round of --runs: the engine block's median step and the two reference runs made after it. */
export interface StepRound { engineMs: number; usualMs: number; clsOnlyMs: number; faster: 'usual' | 'cls-only'; ratio: number }

export interface NativeTime { name: string; msPerStep: number; callsPerStep: number; gflops?: number }

/**
 * Exports wrapped to add each call's wall time (and the GEMM's flops: 2 M N K) to `stats`; the
 * calls are synchronous WebAssembly, so wall time is their CPU time.
 */
export function timedExports(stats: Map<string, [number, number, number]>) {
  return (exports: Record<string, (...a: number[]) => number>) => {
    const out: Record<string, (...a: number[]) => number> = {};
    for (const [name, f] of Object.entries(exports)) {
      out[name] = (...a: number[]) => {
        const t0 = performance.now(), r = f(...a), e = stats.get(name) ?? [0, 0, 0];
        e[0] += performance.now() - t0; e[1]++;
        if (name === 'sgemm') e[2] += 2 * a[5] * a[6] * a[7]; // sgemm(a, b, bias, c, scratch, M, N, K, ...)
        stats.set(name, e);
        return r;
      };
    }
    return out;
  };
}

export interface StepProfile { kernels: number; totalMs: number; top: { name: string; ms: number; count: number; share: number }[] }

/**
 * Kernel time by kernel name of tf.profile's records. Only registered kernels of `backend` count:
 * a custom gradient's record ("forward") spans the kernels inside it, which are listed themselves.
 * The engine's GEMM is split by shape (input shapes, as in docs/performance.md).
 */
export function kernelTimes(kernels: { name: string; kernelTimeMs: unknown; inputShapes: number[][] }[], backend: string, top = 16): StepProfile {
  const by = new Map<string, [number, number]>();
  let total = 0, n = 0;
  for (const k of kernels) {
    if (!tf.getKernel(k.name, backend)) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = k.name === 'FedloraMatMul' ? `${k.name} ${k.inputShapes.map((sh) => `[${sh}]`).join('')}` : k.name;
    const e = by.get(key) ?? [0, 0];
    by.set(key, [e[0] + ms, e[1] + 1]);
    total += ms; n++;
  }
  const rows = [...by.entries()].sort((a, b) => b[1][0] - a[1][0]).slice(0, top);
  return { kernels: n, totalMs: total, top: rows.map(([name, [ms, count]]) => ({ name, ms, count, share: total > 0 ? ms / total : 0 })) };
}

/**
 * Warm-up without --warmup: at least this long and this many steps. The engine's JavaScript (tfjs's
 * and its own) is compiled by V8 as it runs: at the shipped model a step took 26-29 ms after 10
 * warm-up steps, 18-21 ms after 20 and 15-17.5 ms after 40 (docs/performance.md), so a fixed 5 steps
 * measured the compiler, not the steady state a training run spends its time in.
 */
export const WARMUP_MS = 3000, WARMUP_MIN = 5;

/** Whether the warm-up without --warmup is over before step `step` (0-based), `elapsedMs` after it began. */
export function warmedUp(step: number, elapsedMs: number): boolean {
  return step >= WARMUP_MIN && elapsedMs >= WARMUP_MS;
}

/** The Python that runs the reference (read at each run: tests point it at a stand-in). */
const python = () => process.env.FEDLORA_BENCH_PYTHON ?? '/usr/bin/python3';
/** Below this CPU share a timing is flagged: the process waited for the core for over 10% of the time. */
const BUSY_SHARE = 0.9;

/** The spec of --model / --spec; throws naming the option and the fix. */
export function stepSpec(model: string | undefined, specJson: string | undefined): { name: string; spec: VitSpec | null } {
  if (specJson !== undefined) {
    let s: unknown;
    try { s = JSON.parse(specJson); } catch (e) { throw new Error(`--spec: not JSON (${(e as Error).message}); e.g. --spec '${JSON.stringify(STEP_MODELS.d128)}'`); }
    const spec = { arch: 'vit', numClasses: 10, ...(s as object) } as VitSpec;
    const problems = checkModelSpec(spec);
    if (problems.length) throw new Error(`--spec: ${problems.join('; ')}`);
    if (spec.arch !== 'vit' || spec.imageSize !== 28 || spec.channels !== 1 || spec.numClasses !== 10) {
      throw new Error('--spec: the bench trains on Fashion-MNIST: arch "vit", imageSize 28, channels 1, numClasses 10 (or leave them out)');
    }
    return { name: 'spec', spec };
  }
  const name = model ?? 'base';
  if (!(name in STEP_MODELS)) throw new Error(`--model: one of ${Object.keys(STEP_MODELS).join(', ')} (or --spec JSON), got "${name}"`);
  return { name, spec: STEP_MODELS[name] };
}

/** --model / --spec with its shape: the shipped model's (read from its file) when neither names one. */
export function stepShape(model: string | undefined, specJson: string | undefined): { name: string; spec: VitSpec } {
  const chosen = stepSpec(model, specJson);
  return { name: chosen.name, spec: chosen.spec ?? loadModelFile(resolveModel('vit-fmnist-base', path.resolve('.'))).spec as VitSpec };
}

/**
 * The reference's environment: one BLAS thread, and glibc's malloc told to keep freed memory
 * (no trimming, no mmap for large blocks). Without the malloc settings PyTorch returns the step's
 * large buffers to the system and faults them back in at every step, and its speed depends on the
 * process: at ViT-Tiny, 1 thread, idle machine, three runs of the same seeded CLS-only script gave
 * medians of 449, 909 and 1,595 ms (1,021-1,814 ms in the slow one, with 2.3x the page faults);
 * with them, 439 and 451 ms (max 461), and the usual variant 469-470 ms. That, not the order
 * of the runs, made the CLS-only variant "slow when spawned second" (issue 20).
 */
export const REFERENCE_ENV = {
  OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1',
  MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 32), MALLOC_TOP_PAD_: String(2 ** 28),
};

/** One reference run in a fresh process. */
function reference(spec: VitSpec, clsOnly: boolean, steps: number, warmup: number): TorchResult | string {
  const script = path.join(__dirname, 'reference', 'vit_lora_step.py');
  const PYTHON = python();
  const r = spawnSync(PYTHON, [script, '--spec', JSON.stringify(spec), '--batch', '32', '--rank', '8', '--alpha', '16', '--targets', 'q,v',
    '--steps', String(steps), '--warmup', String(warmup), '--threads', '1', ...(clsOnly ? ['--cls-only'] : [])], {
    encoding: 'utf8', env: { ...process.env, ...REFERENCE_ENV }, timeout: 1_200_000,
  });
  if (r.error) return `${PYTHON} could not run (${r.error.message})`;
  if (r.status !== 0) return /No module named 'torch'/.test(r.stderr) ? `${PYTHON} has no torch` : `reference exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`;
  try { return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult; } catch { return `unreadable reference output: ${r.stdout.slice(0, 200)}`; }
}

const busy = (share: number | undefined, cpuMs: number | undefined) =>
  (share !== undefined && share < BUSY_SHARE ? ` [CPU share ${share.toFixed(2)}: other work took the core, inflated; median CPU time ${cpuMs?.toFixed(1)} ms]` : '');

/**
 * The in-process before/after comparisons: the environment switch, its value for the engine's
 * default (after) and for the alternative (before), and the labels printed. Both give the same
 * bits, so alternating steps train the same model.
 */
export const AB_SWITCHES = {
  gemm: { env: 'FEDLORA_GEMM', after: 'fedlora', before: 'tfjs', afterLabel: 'engine GEMM', beforeLabel: 'tfjs matMul' },
  attention: { env: 'FEDLORA_ATTENTION', after: 'blocked', before: 'rowwise', afterLabel: 'blocked attention', beforeLabel: 'rowwise attention' },
} as const;

/** Which switch --ab-gemm / --ab-attention asks for (at most one, and not with --ab-kernels). */
export function abSwitch(opts: { abGemm?: boolean; abAttention?: boolean; abKernels?: string }): (typeof AB_SWITCHES)[keyof typeof AB_SWITCHES] | null {
  if ([opts.abGemm, opts.abAttention, opts.abKernels !== undefined].filter(Boolean).length > 1) throw new Error('--ab-gemm, --ab-attention and --ab-kernels: pick one (each alternates one thing)');
  return opts.abGemm ? AB_SWITCHES.gemm : opts.abAttention ? AB_SWITCHES.attention : null;
}

/** A before/after alternation: `set(true)` selects the before variant, `set(false)` the after one; `restore` undoes it. */
interface AbRun { set(before: boolean): void; restore(): void; afterLabel: string; beforeLabel: string; name: string }

function abRun(opts: { abGemm?: boolean; abAttention?: boolean; abKernels?: string }): AbRun | null {
  const sw = abSwitch(opts);
  if (sw) {
    const saved = process.env[sw.env];
    return {
      name: `${sw.env} A/B`, afterLabel: sw.afterLabel, beforeLabel: sw.beforeLabel,
      set: (before) => { process.env[sw.env] = before ? sw.before : sw.after; },
      restore: () => { if (saved === undefined) delete process.env[sw.env]; else process.env[sw.env] = saved; },
    };
  }
  if (opts.abKernels === undefined) return null;
  // the module committed at that revision, in the same process, alternating with this tree's
  const rev = opts.abKernels, old = compileKernelsModule(kernelsModuleBytes(rev));
  return {
    name: '--ab-kernels', afterLabel: "this tree's kernels", beforeLabel: `the kernels of ${rev}`,
    set: (before) => useKernelsModule(before ? old : null), restore: () => useKernelsModule(null),
  };
}

export async function benchStep(opts: { model?: string; spec?: string; steps?: number; warmup?: number; runs?: number; backend?: string; json?: boolean; engineOnly?: boolean; abGemm?: boolean; abAttention?: boolean; abKernels?: string; profile?: boolean; kernelTimes?: boolean } = {}): Promise<StepBenchResult> {
  const steps = opts.steps ?? 20, runs = opts.runs ?? 1, batch = 32;
  // without --warmup: until WARMUP_MS and WARMUP_MIN steps have passed (-1 until then), and the
  // reference gets as many warm-up steps as the engine took
  let warmup = opts.warmup ?? -1;
  if (!(Number.isInteger(steps) && steps >= 1 && Number.isInteger(warmup) && warmup >= -1 && (opts.warmup === undefined || warmup >= 0) && Number.isInteger(runs) && runs >= 1)) {
    throw new Error('--steps and --runs must be integers >= 1, --warmup an integer >= 0');
  }
  if (opts.kernelTimes && opts.abKernels !== undefined) throw new Error('--kernel-times and --ab-kernels: pick one (each swaps the kernels module)');
  const ab = abRun(opts);
  const chosen = stepSpec(opts.model, opts.spec);
  const lora = { rank: 8, alpha: 16, targets: ['q', 'v'] };
  const backend = await initBackend((opts.backend ?? 'wasm') as BackendPreference); // wasm in Node is single-threaded

  const root = path.resolve('.');
  const { train } = loadIdxFolder(resolveDataset('fashion-mnist', root));
  const rng = new Rng('bench-step');
  let spec: VitSpec, base: WeightMap;
  if (chosen.spec === null) {
    const loaded = loadModelFile(resolveModel('vit-fmnist-base', root));
    spec = { ...(loaded.spec as VitSpec), numClasses: train.numClasses };
    base = { ...loaded.weights };
  } else {
    spec = chosen.spec;
    base = initVitWeights(spec, rng.child('base'));
  }
  const data = patchDataset(train, spec, 2048);
  base['head.w'] = { shape: [spec.dim, spec.numClasses], data: rng.child('head').normalArray(spec.dim * spec.numClasses, 0.02) };
  base['head.b'] = { shape: [spec.numClasses], data: new Float32Array(spec.numClasses) };
  const model = createModel(spec, base, lora, 'lora', rng.child('init'));
  const opt = new LocalOptimizer({ name: 'adam', lr: 0.003, momentum: 0 }, model.vars, emptyOptimizerState());

  const order = rng.child('order').shuffle(Int32Array.from({ length: data.n }, (_, i) => i)) as Int32Array;
  const ts: number[] = [], cpus: number[] = [], beforeCpus: number[] = [];
  const native = new Map<string, [number, number, number]>();
  if (opts.kernelTimes) useKernelsModule(compileKernelsModule(undefined, timedExports(native)));
  const warmStart = performance.now();
  let s = 0;
  /** `count` timed steps (after the warm-up, the first time): their wall and CPU times join ts/cpus; returns this block's wall times. */
  const engineBlock = async (count: number): Promise<number[]> => {
    const block: number[] = [];
    for (let timed = 0; timed < count; s++) {
      if (warmup < 0 && warmedUp(s, performance.now() - warmStart)) warmup = s;
      const isTimed = warmup >= 0 && s >= warmup;
      const idx = order.subarray((s * batch) % (data.n - batch), (s * batch) % (data.n - batch) + batch);
      // --ab-gemm / --ab-attention: every other step on the "before" kernels (the same bits, so the
      // training is the same); the two sets of steps share the machine's load alike
      const onBefore = !!ab && s % 2 === 1;
      if (s === warmup) native.clear(); // --kernel-times: the timed steps only
      ab?.set(onBefore);
      const t0 = performance.now(), c0 = process.cpuUsage();
      const { x, y } = makeBatch(data, idx);
      const loss = opt.minimize(() => crossEntropy(model, x, y, batch));
      await loss.data(); // reads the loss back: the step is complete
      loss.dispose();
      x.dispose(); y.dispose();
      if (isTimed) {
        timed++;
        const c = process.cpuUsage(c0);
        if (onBefore) beforeCpus.push((c.user + c.system) / 1000);
        else { const ms = performance.now() - t0; ts.push(ms); block.push(ms); cpus.push((c.user + c.system) / 1000); }
      }
    }
    return block;
  };
  const firstBlock = await engineBlock(steps);
  // Rounds of [engine block, reference A, reference B], B A in every other round: each variant in a
  // fresh process, and each ratio from an engine block and the reference runs just after it, so a
  // drift of the shared machine's speed (it changes over minutes) hits both sides of a ratio alike.
  const references: TorchResult[] = [];
  const rounds: StepRound[] = [];
  let torchError: string | null = opts.engineOnly ? 'skipped (--engine-only)' : null;
  for (let round = 0; round < runs && (!torchError || opts.engineOnly); round++) {
    const block = round === 0 ? firstBlock : await engineBlock(steps);
    const engineMs = median(block);
    if (runs > 1) process.stdout.write(`round ${round + 1}, tfjs: ${engineMs.toFixed(1)} ms/step (median of ${block.length})\n`);
    const got: Partial<Record<'usual' | 'cls-only', number>> = {};
    for (const clsOnly of torchError ? [] : round % 2 === 0 ? [false, true] : [true, false]) {
      const r = reference(spec, clsOnly, steps, warmup);
      if (typeof r === 'string') { torchError = r; break; }
      references.push(r);
      got[clsOnly ? 'cls-only' : 'usual'] = r.medianStepMs;
      process.stdout.write(`PyTorch ${r.torch}, ${clsOnly ? 'CLS-only last block' : 'usual code        '}: ${r.medianStepMs.toFixed(1)} ms/step (min ${r.minStepMs.toFixed(1)}, max ${r.maxStepMs.toFixed(1)}; `
        + `${r.threads} thread, 1024^3 matmul ${r.matmulGflops} GFLOP/s)${busy(r.cpuShare, r.medianCpuMs)}\n`);
    }
    if (got.usual !== undefined && got['cls-only'] !== undefined) {
      const faster = Math.min(got.usual, got['cls-only']);
      rounds.push({ engineMs, usualMs: got.usual, clsOnlyMs: got['cls-only'], faster: got['cls-only'] < got.usual ? 'cls-only' : 'usual', ratio: engineMs / faster });
      if (runs > 1) process.stdout.write(`round ${round + 1}: tfjs / the faster variant ${(engineMs / faster).toFixed(2)}x\n`);
    }
  }
  ab?.restore();
  if (opts.kernelTimes) useKernelsModule(null);
  const timedSteps = ts.length + beforeCpus.length;
  const nativeTimes: NativeTime[] | undefined = opts.kernelTimes
    ? [...native.entries()].sort((a, b) => b[1][0] - a[1][0]).map(([name, [ms, calls, flops]]) => ({ name, msPerStep: ms / timedSteps, callsPerStep: calls / timedSteps, ...(flops ? { gflops: flops / ms / 1e6 } : {}) }))
    : undefined;
  let profile: StepProfile | undefined;
  if (opts.profile) {
    const { x, y } = makeBatch(data, order.subarray(0, batch));
    const p = await tf.profile(async () => { const l = opt.minimize(() => crossEntropy(model, x, y, batch)); await l.data(); l.dispose(); });
    x.dispose(); y.dispose();
    profile = kernelTimes(p.kernels, tf.getBackend());
  }
  await opt.finish();
  model.dispose();
  const tfjsMs = median(ts), tfjsCpuMs = median(cpus), tfjsCpuShare = cpus.reduce((a, b) => a + b, 0) / ts.reduce((a, b) => a + b, 0);
  const shape = `${chosen.name} (d=${spec.dim}, depth ${spec.depth}, ${spec.heads} heads, MLP ${spec.mlpDim}, patch ${spec.patchSize}: ${(spec.imageSize / spec.patchSize) ** 2} tokens + CLS)`;
  process.stdout.write(`model ${shape}, batch ${batch}, LoRA r=8 on q,v, Adam; median of ${ts.length} steps after ${warmup} warm-up${opts.warmup === undefined ? ` (>= ${WARMUP_MS / 1000} s and ${WARMUP_MIN} steps)` : ''}\n`);
  process.stdout.write(`tfjs (${backend.name}, ${tf.version_core}, GEMM ${backend.gemm}): ${tfjsMs.toFixed(1)} ms/step (min ${Math.min(...ts).toFixed(1)}, max ${Math.max(...ts).toFixed(1)})${busy(tfjsCpuShare, tfjsCpuMs)}\n`);
  if (ab) {
    process.stdout.write(`${ab.name}, median CPU time per step, steps alternating: ${ab.afterLabel} ${tfjsCpuMs.toFixed(1)} ms (${cpus.length} steps; min ${Math.min(...cpus).toFixed(1)}, max ${Math.max(...cpus).toFixed(1)}), `
      + `${ab.beforeLabel} ${median(beforeCpus).toFixed(1)} ms (${beforeCpus.length} steps; min ${Math.min(...beforeCpus).toFixed(1)}, max ${Math.max(...beforeCpus).toFixed(1)}): ${(median(beforeCpus) / tfjsCpuMs).toFixed(2)}x\n`);
  }

  if (nativeTimes) {
    const total = nativeTimes.reduce((a, k) => a + k.msPerStep, 0);
    process.stdout.write(`--kernel-times, the engine's wasm kernels per step (each call timed, ${timedSteps} steps): `
      + nativeTimes.map((k) => `${k.name} ${k.msPerStep.toFixed(2)} ms (${k.callsPerStep} calls${k.gflops ? `, ${k.gflops.toFixed(1)} GFLOP/s` : ''})`).join(', ')
      + `; ${total.toFixed(1)} ms of ${tfjsCpuMs.toFixed(1)} ms CPU per step (the rest: tfjs's own kernels, its per-op bookkeeping, garbage collection; `
      + `each call's time is wall time, which on a busy machine includes waiting for the core)\n`);
  }
  if (profile) {
    process.stdout.write(`--profile, one step (tf.profile, kernel time with profiling overhead): ${profile.kernels} kernels, ${profile.totalMs.toFixed(1)} ms\n`);
    for (const r of profile.top) process.stdout.write(`  ${r.ms.toFixed(1).padStart(8)} ms ${(100 * r.share).toFixed(1).padStart(5)}% ${String(r.count).padStart(4)}x ${r.name}\n`);
  }

  const variantMs = (cls: boolean) => { const xs = references.filter((r) => r.clsOnly === cls).map((r) => r.medianStepMs); return xs.length ? median(xs) : null; };
  const torchUsualMs = variantMs(false), torchClsOnlyMs = variantMs(true);
  const cpuOf = (cls: boolean) => { const xs = references.filter((r) => r.clsOnly === cls && r.medianCpuMs !== undefined).map((r) => r.medianCpuMs!); return xs.length ? median(xs) : null; };
  let ratio: number | null = null, fasterVariant: StepBenchResult['fasterVariant'] = null;
  if (torchUsualMs !== null && torchClsOnlyMs !== null && rounds.length) {
    const byRatio = [...rounds].sort((a, b) => a.ratio - b.ratio), mid = (byRatio.length - 1) >> 1;
    ratio = byRatio.length % 2 ? byRatio[mid].ratio : (byRatio[mid].ratio + byRatio[mid + 1].ratio) / 2;
    fasterVariant = byRatio[mid].faster;
    if (rounds.length < runs) process.stdout.write(`warning: only ${rounds.length} of ${runs} rounds have both reference runs (${torchError}); the ratio is theirs\n`);
    process.stdout.write(`ratio tfjs / PyTorch (the faster variant${rounds.length > 1 ? `; median over ${rounds.length} rounds of engine block + both variants, ${rounds.map((r) => `${r.ratio.toFixed(2)} (${r.faster})`).join(', ')}` : `, ${fasterVariant}`}): ${ratio.toFixed(2)}x; `
      + `pooled medians: against the usual code ${(tfjsMs / torchUsualMs).toFixed(2)}x, the CLS-only code ${(tfjsMs / torchClsOnlyMs).toFixed(2)}x\n`);
    const cu = cpuOf(false), cc = cpuOf(true);
    if (cu !== null && cc !== null) process.stdout.write(`ratio of median CPU times per step (less sensitive to other work on the machine): ${(tfjsCpuMs / Math.min(cu, cc)).toFixed(2)}x\n`);
    if (references.some((r) => r.matmulGflops < 20)) process.stdout.write('warning: the reference BLAS is slow (generic BLAS?); install libopenblas0-pthread, or the ratio is meaningless\n');
  } else if (opts.engineOnly) {
    process.stdout.write('PyTorch reference not run (--engine-only)\n');
  } else {
    process.stdout.write(`PyTorch reference not run: ${torchError}. Install it with \`apt-get install python3-torch libopenblas0-pthread\` `
      + '(or point FEDLORA_BENCH_PYTHON at a python with torch) for the ratio.\n');
  }
  const flagged = [tfjsCpuShare, ...references.map((r) => r.cpuShare)].some((s) => s !== undefined && s < BUSY_SHARE);
  const load = os.loadavg()[0];
  process.stdout.write(`host: ${os.cpus().length} cores, 1-min load average ${load.toFixed(2)}${flagged || load > 1.5 ? ' (other work is running: rerun on an idle machine)' : ''}\n`);
  const res: StepBenchResult = {
    model: chosen.name, spec, backend: backend.name, gemm: backend.gemm, batch, steps, timedSteps, warmup, tfjsMs, tfjsMinMs: Math.min(...ts), tfjsMaxMs: Math.max(...ts), tfjsCpuShare, tfjsCpuMs,
    references, rounds, torchUsualMs, torchClsOnlyMs, ratio, fasterVariant, torchError, loadAvg: load, ...(profile ? { profile } : {}), ...(nativeTimes ? { kernelTimes: nativeTimes } : {}),
  };
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'step', ...res }) + '\n');
  return res;
}
