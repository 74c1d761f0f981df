/**
 * `npm run bench -- step [--steps N] [--warmup N] [--backend NAME] [--json]`: one local training
 * step of the default experiment (batch 32, Adam, LoRA r=8 alpha=16 on q and v, base frozen, fresh
 * 10-class head) on the shipped model and data, through the engine's own code (createModel,
 * makeBatch, crossEntropy, LocalOptimizer.minimize: the body of localTrain's loop). Median of N
 * steps after a warm-up. Then the same step in PyTorch (bench/reference/vit_lora_step.py, random
 * weights, 1 thread), twice: as written in the usual way (every block on every token) and with the
 * engine's CLS-only last block (the same algorithm); the ratio tfjs / PyTorch for both.
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
import { Rng } from '../src/engine/rng';
import { loadIdxFolder, loadModelFile } from '../src/service/loaders';
import { resolveDataset, resolveModel } from '../src/service/resources';

interface TorchResult { medianStepMs: number; minStepMs: number; matmulGflops: number; torch: string; threads: number }

export interface StepBenchResult {
  backend: string; batch: number; steps: number; tfjsMs: number; tfjsMinMs: number; tfjsMaxMs: number;
  /** The reference as usually written (every block on every token). */
  torch: TorchResult | null;
  /** The reference with the engine's algorithm (CLS-only last block): the like-for-like comparison. */
  torchClsOnly: TorchResult | null;
  torchError: string | null;
  /** tfjs / torchClsOnly (like for like). */
  ratio: number | null;
  /** tfjs / torch (against the usual PyTorch code). */
  ratioUsual: number | null;
  loadAvg: number;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const PYTHON = process.env.FEDLORA_BENCH_PYTHON ?? '/usr/bin/python3';

export async function benchStep(opts: { steps?: number; warmup?: number; backend?: string; json?: boolean } = {}): Promise<StepBenchResult> {
  const steps = opts.steps ?? 30, warmup = opts.warmup ?? 5, batch = 32;
  const lora = { rank: 8, alpha: 16, targets: ['q', 'v'] };
  const backend = await initBackend((opts.backend ?? 'wasm') as BackendPreference); // wasm in Node is single-threaded

  const root = path.resolve('.');
  const loaded = loadModelFile(resolveModel('vit-fmnist-base', root));
  const { train } = loadIdxFolder(resolveDataset('fashion-mnist', root));
  const spec = { ...loaded.spec, numClasses: train.numClasses };
  const data = patchDataset(train, spec, 2048);
  const rng = new Rng('bench-step');
  const base = { ...loaded.weights };
  base['head.w'] = { shape: [spec.dim, spec.numClasses], data: rng.child('head').normalArray(spec.dim * spec.numClasses, 0.02) };
  base['head.b'] = { shape: [spec.numClasses], data: new Float32Array(spec.numClasses) };
  const model = createModel(spec, base, lora, 'lora', rng.child('init'));
  const opt = new LocalOptimizer({ name: 'adam', lr: 0.003, momentum: 0 }, model.vars, emptyOptimizerState());

  const order = rng.child('order').shuffle(Int32Array.from({ length: data.n }, (_, i) => i)) as Int32Array;
  const ts: number[] = [];
  for (let s = 0; s < warmup + steps; s++) {
    const idx = order.subarray((s * batch) % (data.n - batch), (s * batch) % (data.n - batch) + batch);
    const t0 = performance.now();
    const { x, y } = makeBatch(data, idx);
    const loss = opt.minimize(() => crossEntropy(model, x, y, batch));
    await loss.data(); // reads the loss back: the step is complete
    loss.dispose();
    x.dispose(); y.dispose();
    if (s >= warmup) ts.push(performance.now() - t0);
  }
  await opt.finish();
  model.dispose();
  const tfjsMs = median(ts);
  process.stdout.write(`tfjs (${backend.name}, ${tf.version_core}): ${tfjsMs.toFixed(1)} ms/step (median of ${steps} after ${warmup} warm-up; min ${Math.min(...ts).toFixed(1)}, max ${Math.max(...ts).toFixed(1)})\n`);

  const script = path.join(__dirname, 'reference', 'vit_lora_step.py');
  const reference = (clsOnly: boolean): { res: TorchResult | null; error: string | null } => {
    const r = spawnSync(PYTHON, [script, '--spec', JSON.stringify(spec), '--batch', String(batch), '--rank', String(lora.rank),
      '--alpha', String(lora.alpha), '--targets', lora.targets.join(','), '--steps', String(steps), '--warmup', String(warmup), '--threads', '1',
      ...(clsOnly ? ['--cls-only'] : [])], {
      encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' }, timeout: 300_000,
    });
    if (r.error) return { res: null, error: `${PYTHON} could not run (${r.error.message})` };
    if (r.status !== 0) return { res: null, error: /No module named 'torch'/.test(r.stderr) ? `${PYTHON} has no torch` : `reference exited ${r.status}: ${r.stderr.trim().split('\n').pop()}` };
    try { return { res: JSON.parse(r.stdout.trim().split('\n').pop()!), error: null }; } catch { return { res: null, error: `unreadable reference output: ${r.stdout.slice(0, 200)}` }; }
  };
  const usual = reference(false);
  const same = usual.res ? reference(true) : usual;
  const torch = usual.res, torchClsOnly = same.res, torchError = usual.error ?? same.error;
  let ratio: number | null = null, ratioUsual: number | null = null;
  if (torch && torchClsOnly) {
    ratio = tfjsMs / torchClsOnly.medianStepMs;
    ratioUsual = tfjsMs / torch.medianStepMs;
    process.stdout.write(`PyTorch ${torch.torch} (${torch.threads} thread, 1024^3 matmul ${torch.matmulGflops} GFLOP/s): ${torch.medianStepMs.toFixed(1)} ms/step as usually written, `
      + `${torchClsOnly.medianStepMs.toFixed(1)} ms/step with the engine's CLS-only last block\n`
      + `ratio tfjs / PyTorch, same algorithm: ${ratio.toFixed(2)}x (target <= 2; fastest steps ${(Math.min(...ts) / torchClsOnly.minStepMs).toFixed(2)}x); `
      + `against the usual PyTorch code: ${ratioUsual.toFixed(2)}x\n`);
    if (torch.matmulGflops < 20) process.stdout.write('warning: the reference BLAS is slow (generic BLAS?); install libopenblas0-pthread, or the ratio is meaningless\n');
  } else {
    process.stdout.write(`PyTorch reference not run: ${torchError}. Install it with \`apt-get install python3-torch libopenblas0-pthread\` `
      + '(or point FEDLORA_BENCH_PYTHON at a python with torch) for the ratio.\n');
  }
  const load = os.loadavg()[0];
  process.stdout.write(`host: ${os.cpus().length} cores, 1-min load average ${load.toFixed(2)}${load > 1.5 ? ' (other work is running: medians are inflated, rerun on an idle machine)' : ''}\n`);
  const res: StepBenchResult = { backend: backend.name, batch, steps, tfjsMs, tfjsMinMs: Math.min(...ts), tfjsMaxMs: Math.max(...ts), torch, torchClsOnly, torchError, ratio, ratioUsual, loadAvg: load };
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'step', ...res }) + '\n');
  return res;
}
