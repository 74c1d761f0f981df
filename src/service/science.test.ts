/**
 * Acceptance checks of issue 18 on the shipped quick preset (configs/quick.json): what a client
 * message costs, that TSFA uses its latency budget, and that the infeasibility floor is the
 * long-run one. Clock only (no training): every check runs in seconds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, resolved } from '../engine/config';
import { RoundClock } from '../engine/control/clock';
import { newSimState, simulateRound } from '../engine/control/simulate';
import { clockInputs } from './clock/inputs';
import { makeCompressor } from '../engine/compress';
import { validateRunConfig } from './validate';
import * as os from 'node:os';
import { executeRun } from './runner';
import { readMetrics } from './runs/runStore';
import { newRunDir } from './testFixtures';
import { exportReport } from './report';

const configs = path.resolve(__dirname, '../../configs');
const quick = JSON.parse(fs.readFileSync(path.join(configs, 'quick.json'), 'utf8')) as Record<string, any>;

/** The quick preset with `over` merged one level deep. */
function preset(over: Record<string, any>) {
  const merged: Record<string, any> = { ...quick };
  for (const [k, v] of Object.entries(over)) merged[k] = typeof v === 'object' && v && !Array.isArray(v) ? { ...(quick[k] ?? {}), ...v } : v;
  return parseConfig(merged);
}

function latencyModel(over: Record<string, any>): RoundClock {
  const cfg = preset(over);
  return new RoundClock({ config: resolved(cfg), ...clockInputs(cfg, configs) });
}

describe('message sizes on the quick preset', () => {
  it('top-k at rho 0.178 codes its positions as min(bitmask, list): at most 77,000 bits per client message', () => {
    const lm = latencyModel({ compression: { method: 'topk', rho: 0.178 } });
    const entries = lm.shape.layers.reduce((n, l) => n + l.rank * (l.din + l.dout), 0);
    const k = Math.ceil(0.178 * entries);
    const bits = lm.messageCost(0.178).bits;
    expect(bits).toBeLessThanOrEqual(77_000);
    // header + head values + k values + an `entries`-bit mask (shorter than k 13-bit indices here)
    expect(k * Math.ceil(Math.log2(entries))).toBeGreaterThan(entries);
    expect(bits).toBe(64 + lm.shape.denseParams * 32 + k * 32 + entries);
  });
});

/** `fedlora simulate` of a preset variant: the clock and controller alone, synthetic profiles (decay 1). */
function simulate(over: Record<string, any>, rounds: number) {
  const lm = latencyModel(over);
  const st = newSimState();
  return Array.from({ length: rounds }, () => simulateRound(lm, st, { kind: 'synthetic', seed: quick.seed, decay: 1, noise: 0.3 }, 8));
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('TSFA uses its latency budget (quick preset, 100 kHz)', () => {
  const setup = { channel: { bandwidthHz: 100000 }, compression: { method: 'soft' }, soft: { lambda: 0 } };

  it('at the default V (4 x budget^2) the mean round time over 2,000 rounds is 0.97-1.02 of a 3.2 s budget', () => {
    const rows = simulate({ ...setup, control: { method: 'tsfa', latencyBudgetS: 3.2 } }, 2000);
    const ratio = mean(rows.map((r) => r.roundTime)) / 3.2;
    expect(ratio).toBeGreaterThanOrEqual(0.97);
    expect(ratio).toBeLessThanOrEqual(1.02);
    // the old default (V = 1) left 6% of this budget unused
    const old = simulate({ ...setup, control: { method: 'tsfa', latencyBudgetS: 3.2, V: 1 } }, 2000);
    expect(mean(old.map((r) => r.roundTime)) / 3.2).toBeLessThan(0.95);
  });

  it('a null control.V means 4 x budget^2: the same choices as that V given explicitly', () => {
    const a = simulate({ ...setup, control: { method: 'tsfa', latencyBudgetS: 3.2 } }, 300);
    const b = simulate({ ...setup, control: { method: 'tsfa', latencyBudgetS: 3.2, V: 4 * 3.2 ** 2 } }, 300);
    expect(a.map((r) => r.rho)).toEqual(b.map((r) => r.rho));
  });
});

describe('the infeasibility floor is the long-run one (quick preset, 20 MHz)', () => {
  it('a tsfa budget 1% above the 1,000-round mean of fixed-opt at the smallest rho is accepted; 3% below it is refused, the message saying what the floor is', () => {
    const rows = simulate({ compression: { method: 'soft', rho: 1 / 8 }, control: { method: 'fixed-opt' } }, 1000);
    const floor1000 = mean(rows.map((r) => r.roundTime));
    const cfg = (budget: number) => ({ ...quick, compression: { method: 'soft' }, control: { method: 'tsfa', latencyBudgetS: budget } });
    expect(validateRunConfig(cfg(floor1000 * 1.01), configs)).toMatchObject({ ok: true });
    const low = validateRunConfig(cfg(floor1000 * 0.97), configs);
    expect(low.ok).toBe(false);
    if (!low.ok) {
      expect(low.issues[0].path).toBe('control.latencyBudgetS');
      expect(low.issues[0].message).toMatch(/long-run mean round time reachable is [\d.]+ s \(at rho = 1\/8 with optimal shares: the expected round time over client sampling and fading, estimated from \d+ simulated rounds, standard error/);
    }
  });
});

describe('docs/method.md states the operation counts the clock charges', () => {
  it('SOFT: per layer 6 r (d_in + d_out) + 2 r ceil(log2(r + 1))', () => {
    const method = fs.readFileSync(path.resolve(__dirname, '../../docs/method.md'), 'utf8');
    expect(method).toContain('SOFT, per layer, 6 r (d_in + d_out) + 2 r ceil(log2(r + 1))');
    const soft = makeCompressor({ method: 'soft', rho: 0.25, valueBits: 32, importance: 'exact', errorFeedback: true } as never);
    const layers = [{ name: 'a', din: 64, dout: 64, rank: 8 }, { name: 'b', din: 30, dout: 50, rank: 5 }];
    const formula = layers.reduce((n, { din, dout, rank: r }) => n + 6 * r * (din + dout) + 2 * r * Math.ceil(Math.log2(r + 1)), 0);
    expect(soft.cost({ layers, denseParams: 0 }, 0.25).flops).toBe(formula);
  });
});

describe('per-class accuracy in metrics.jsonl and in reports', () => {
  it('evaluated rows carry classAcc (one per class) whose sample-weighted mean is testAcc; the report shows the per-class table and the confusion matrix', async () => {
    const dir = newRunDir({
      name: 'classes', seed: 2, backend: 'wasm', data: { trainSamples: 400, testSamples: 150 }, train: { localSteps: 2 },
      federation: { numClients: 4, clientsPerRound: 2, rounds: 3 }, eval: { every: 2 },
    }, 'fedlora-classes-');
    await executeRun(dir);
    const rows = readMetrics<Record<string, any>>(dir).rows;
    expect(rows.map((r) => typeof r.testAcc === 'number')).toEqual([false, true, true]); // rounds 2 and 3 (the last)
    expect(rows[0].classAcc).toBeUndefined();
    for (const r of rows.filter((x) => typeof x.testAcc === 'number')) {
      expect(r.classAcc).toHaveLength(10);
      const counts: number[] = r.confusion.map((row: number[]) => row.reduce((a, b) => a + b, 0)); // test samples per class
      expect(counts.reduce((a, b) => a + b, 0)).toBe(150);
      const weighted = r.classAcc.reduce((a: number, acc: number | null, c: number) => a + (acc ?? 0) * counts[c], 0) / 150;
      expect(weighted).toBeCloseTo(r.testAcc, 12);
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-classes-report-'));
    await exportReport([dir], { outDir: out, formats: ['md', 'html'] });
    const md = fs.readFileSync(path.join(out, fs.readdirSync(out).find((f) => f.endsWith('.md'))!), 'utf8');
    expect(md).toContain('## Per-class accuracy (%) at the last evaluated round');
    expect(md).toMatch(/\| run \| round \| class 0 \|.*\| class 9 \| worst class \|/);
    expect(md).toContain('### Confusion matrix: ');
    const html = fs.readFileSync(path.join(out, fs.readdirSync(out).find((f) => f.endsWith('.html'))!), 'utf8');
    expect(html).toContain('<h2>Per-class accuracy</h2>');
    expect(html).toContain('Confusion matrix: ');
  });
});
