import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VIT_TINY_28 } from '../src/engine/model/vit';
import { stepGemmShapes } from './gemm';
import { kernelsModuleBytes, stepKernelCalls } from './kernels';
import { attentionMode, gemmMode } from '../src/engine/model/kernels';
import { AB_SWITCHES, abSwitch, benchStep, kernelTimes, STEP_MODELS, stepSpec, timedExports, warmedUp, WARMUP_MIN, WARMUP_MS } from './step';

describe('bench step: choosing the model', () => {
  it('names base (the shipped model), d128 and vit-tiny; --spec takes a ViT on 28x28 grey images', () => {
    expect(stepSpec(undefined, undefined)).toEqual({ name: 'base', spec: null });
    expect(stepSpec('vit-tiny', undefined).spec).toEqual(VIT_TINY_28);
    expect(stepSpec('d128', undefined).spec).toMatchObject({ dim: 128, depth: 4, heads: 4, mlpDim: 256, patchSize: 4 });
    // arch and numClasses may be left out; --spec wins over --model
    const s = stepSpec('base', '{"imageSize":28,"channels":1,"patchSize":7,"dim":96,"depth":2,"heads":3,"mlpDim":192}');
    expect(s).toEqual({ name: 'spec', spec: { arch: 'vit', numClasses: 10, imageSize: 28, channels: 1, patchSize: 7, dim: 96, depth: 2, heads: 3, mlpDim: 192 } });
  });

  it('refuses what it cannot run, naming the option and the fix', () => {
    expect(() => stepSpec('huge', undefined)).toThrow(/--model: one of base, d128, vit-tiny \(or --spec JSON\), got "huge"/);
    expect(() => stepSpec(undefined, '{dim:3')).toThrow(/--spec: not JSON .*e\.g\. --spec '\{"arch":"vit"/);
    expect(() => stepSpec(undefined, '{"imageSize":28,"channels":1,"patchSize":4,"dim":100,"depth":2,"heads":3,"mlpDim":64}')).toThrow(/--spec: spec\.heads must be an integer >= 1 dividing dim 100/);
    expect(() => stepSpec(undefined, JSON.stringify({ ...STEP_MODELS.d128, imageSize: 32 }))).toThrow(/--spec: the bench trains on Fashion-MNIST: .*imageSize 28, channels 1/);
  });
});

describe('bench gemm: the projection products of one step', () => {
  it('count every frozen linear of the ViT-Tiny step once each way, with the CLS-only last block', () => {
    const shapes = stepGemmShapes(VIT_TINY_28);
    const count = (what: string) => shapes.find((s) => s.what === what)!;
    expect(count('q k v o forward')).toMatchObject({ M: 32 * 50, K: 192, N: 192, count: 4 * 11 + 2 });
    expect(count('fc1 forward')).toMatchObject({ M: 1600, K: 192, N: 768, count: 11 });
    expect(count('fc1 input grad')).toMatchObject({ M: 1600, K: 768, N: 192, count: 11 });
    expect(count('patch embedding')).toMatchObject({ M: 32 * 49, K: 16, N: 192, count: 1 });
  });
});

describe('bench step: the in-process A/B switches', () => {
  it('--ab-gemm alternates FEDLORA_GEMM, --ab-attention FEDLORA_ATTENTION (each after = the default, before = the old kernels); two at once are refused', () => {
    expect(abSwitch({})).toBeNull();
    expect(abSwitch({ abGemm: true })).toMatchObject({ env: 'FEDLORA_GEMM', after: 'fedlora', before: 'tfjs' });
    expect(abSwitch({ abAttention: true })).toMatchObject({ env: 'FEDLORA_ATTENTION', after: 'blocked', before: 'rowwise' });
    expect(() => abSwitch({ abGemm: true, abAttention: true })).toThrow(/--ab-gemm, --ab-attention and --ab-kernels: pick one/);
    expect(() => abSwitch({ abAttention: true, abKernels: 'HEAD~1' })).toThrow(/pick one/);
    expect(abSwitch({ abKernels: 'HEAD~1' })).toBeNull(); // not an environment switch: benchStep swaps the module
  });

  it('each switch\'s values are ones the engine accepts, "after" being its default', () => {
    for (const [sw, read] of [[AB_SWITCHES.gemm, gemmMode], [AB_SWITCHES.attention, attentionMode]] as const) {
      const before = process.env[sw.env];
      try {
        delete process.env[sw.env];
        expect(read()).toBe(sw.after);
        process.env[sw.env] = sw.before;
        expect(read()).toBe(sw.before);
      } finally {
        if (before === undefined) delete process.env[sw.env]; else process.env[sw.env] = before;
      }
    }
  });
});

describe('bench step --profile: kernel time by kernel', () => {
  it('sums registered kernels by name (the GEMM by shape), skips custom-gradient records that span others, largest first', () => {
    const rec = (name: string, ms: number, shapes: number[][] = [[2, 2]]) => ({ name, kernelTimeMs: ms, inputShapes: shapes });
    const p = kernelTimes([
      rec('forward', 100), rec('FedloraGelu', 3), rec('FedloraGelu', 4), rec('FedloraMatMul', 10, [[8, 4], [4, 4]]),
      rec('FedloraMatMul', 5, [[8, 4], [4, 4]]), rec('FedloraMatMul', 2, [[1, 4], [4, 4]]), rec('FedloraAttention', 1),
    ], 'cpu');
    expect(p.kernels).toBe(6);
    expect(p.totalMs).toBe(25);
    expect(p.top.map((r) => [r.name, r.ms, r.count])).toEqual([['FedloraMatMul [8,4][4,4]', 15, 2], ['FedloraGelu', 7, 2], ['FedloraMatMul [1,4][4,4]', 2, 1], ['FedloraAttention', 1, 1]]);
    expect(p.top[0].share).toBeCloseTo(0.6, 10);
  });
});

describe('bench kernels: the fused kernel calls of one step', () => {
  // the counts of one step's tf.profile (bench step --profile) at each shape
  it.each([
    ['vit-tiny', { gelu_fwd: 12, gelu_bwd: 12, attn_fwd: 12, attn_bwd: 12, lora_fwd: 24, lora_bwd: 24, layer_norm_fwd: 25, layer_norm_bwd: 24 }],
    ['d128', { gelu_fwd: 4, gelu_bwd: 4, attn_fwd: 4, attn_bwd: 4, lora_fwd: 8, lora_bwd: 8, layer_norm_fwd: 9, layer_norm_bwd: 8 }],
  ])('%s: each kernel as often as a step runs it', (model, want) => {
    const counts: Record<string, number> = {};
    for (const c of stepKernelCalls(stepSpec(model, undefined).spec!)) {
      let name = '';
      c.call(new Proxy({}, { get: (_t, k: string) => () => { name = k; } }), []);
      counts[name] = (counts[name] ?? 0) + c.count;
    }
    expect(counts).toEqual(want);
  });

  it('--baseline names a git revision whose kernels module it reads; a bad one is refused naming the option', () => {
    expect(Array.from(kernelsModuleBytes('HEAD').subarray(0, 4))).toEqual([0, 0x61, 0x73, 0x6d]); // "\0asm"
    expect(() => kernelsModuleBytes('no-such-revision')).toThrow(/--baseline: no kernels module at git revision "no-such-revision"/);
  });
});

describe('bench step --kernel-times: the engine\'s wasm kernels timed in the step', () => {
  it('adds each call\'s time and count per export, and 2 M N K flops per GEMM call', () => {
    const stats = new Map<string, [number, number, number]>();
    const seen: number[][] = [];
    const wrapped = timedExports(stats)({ sgemm: (...a: number[]) => { seen.push(a); return 7; }, gelu_fwd: () => 0 });
    // sgemm(a, b, bias, c, scratch, M, N, K, transA, transB)
    expect(wrapped.sgemm(1, 2, 0, 3, 4, 5, 6, 7, 0, 1)).toBe(7);
    wrapped.sgemm(1, 2, 0, 3, 4, 2, 3, 4, 0, 0);
    wrapped.gelu_fwd(1, 2, 3, 8);
    expect(seen).toEqual([[1, 2, 0, 3, 4, 5, 6, 7, 0, 1], [1, 2, 0, 3, 4, 2, 3, 4, 0, 0]]); // arguments passed through
    expect(stats.get('sgemm')!.slice(1)).toEqual([2, 2 * 5 * 6 * 7 + 2 * 2 * 3 * 4]);
    expect(stats.get('gelu_fwd')!.slice(1)).toEqual([1, 0]);
    expect(stats.get('sgemm')![0]).toBeGreaterThanOrEqual(0);
  });

  it('cannot be combined with --ab-kernels (both swap the kernels module)', async () => {
    await expect(benchStep({ kernelTimes: true, abKernels: 'HEAD' })).rejects.toThrow(/--kernel-times and --ab-kernels: pick one/);
  });
});

describe('bench step: the warm-up without --warmup', () => {
  it('lasts at least WARMUP_MS and WARMUP_MIN steps (a 1 s step: 5 steps; a 15 ms step: until 3 s)', () => {
    expect([WARMUP_MS, WARMUP_MIN]).toEqual([3000, 5]);
    expect(warmedUp(4, 10_000)).toBe(false); // too few steps, however long
    expect(warmedUp(5, 5_000)).toBe(true);
    expect(warmedUp(100, 2_999)).toBe(false); // too short, however many steps
    expect(warmedUp(200, 3_000)).toBe(true);
  });

  it('--warmup must be an integer >= 0', async () => {
    await expect(benchStep({ warmup: -1 })).rejects.toThrow(/--warmup an integer >= 0/);
    await expect(benchStep({ warmup: 2.5 })).rejects.toThrow(/--warmup an integer >= 0/);
  });
});

describe('bench step: --runs pairs each engine block with the reference runs just after it', () => {
  it('3 rounds: the variants alternate (A B, B A, A B), each round\'s ratio uses its own block and runs, the headline is their median', async () => {
    // a stand-in for python + torch whose step time grows with every call (a machine slowing down)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-benchref-'));
    const fake = path.join(dir, 'python');
    fs.writeFileSync(fake, `#!/bin/sh
n=$(cat "${dir}/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${dir}/n"
case " $* " in *" --cls-only "*) c=true; ms=$((100*n+50));; *) c=false; ms=$((100*n));; esac
echo "{\\"medianStepMs\\": $ms, \\"minStepMs\\": $ms, \\"maxStepMs\\": $ms, \\"matmulGflops\\": 90, \\"torch\\": \\"malloc trim $MALLOC_TRIM_THRESHOLD_ mmap $MALLOC_MMAP_THRESHOLD_ blas $OPENBLAS_NUM_THREADS\\", \\"threads\\": 1, \\"clsOnly\\": $c}"
`, { mode: 0o755 });
    const saved = process.env.FEDLORA_BENCH_PYTHON;
    process.env.FEDLORA_BENCH_PYTHON = fake;
    try {
      const spec = '{"imageSize":28,"channels":1,"patchSize":14,"dim":8,"depth":1,"heads":1,"mlpDim":8}';
      const r = await benchStep({ spec, steps: 2, warmup: 0, runs: 3 });
      expect(r.references.map((x) => [x.clsOnly, x.medianStepMs])).toEqual([[false, 100], [true, 250], [true, 350], [false, 400], [false, 500], [true, 650]]);
      expect(r.rounds.map((x) => [x.usualMs, x.clsOnlyMs])).toEqual([[100, 250], [400, 350], [500, 650]]);
      for (const x of r.rounds) expect(x.ratio).toBeCloseTo(x.engineMs / Math.min(x.usualMs, x.clsOnlyMs), 12);
      expect(r.rounds.map((x) => x.faster)).toEqual(['usual', 'cls-only', 'usual']);
      const byRatio = [...r.rounds].sort((a, b) => a.ratio - b.ratio);
      expect(r.ratio).toBe(byRatio[1].ratio);
      expect(r.fasterVariant).toBe(byRatio[1].faster);
      expect([r.steps, r.timedSteps]).toEqual([2, 6]);
      // --engine-only still times one block per round
      const e = await benchStep({ spec, steps: 2, warmup: 0, runs: 2, engineOnly: true });
      expect([e.rounds.length, e.references.length, e.ratio, e.timedSteps]).toEqual([0, 0, null, 4]);
      expect(e.tfjsMinMs).toBeGreaterThan(0);
      // each reference ran with one BLAS thread and malloc keeping freed memory (REFERENCE_ENV)
      for (const x of r.references) expect(x.torch).toBe(`malloc trim ${2 ** 32} mmap ${2 ** 30} blas 1`);
    } finally {
      if (saved === undefined) delete process.env.FEDLORA_BENCH_PYTHON; else process.env.FEDLORA_BENCH_PYTHON = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
