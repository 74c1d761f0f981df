import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WeightMap } from '../model/types';
import { Rng } from '../rng';
import { initBackend } from '../backend';
import { parseConfig, validateConfig } from '../config';
import { buildTrainer } from '../../service/runner';
import { ErrorFeedback, loraLayers, makeCompressor, type CompressionSpec } from './index';
import { f16Round } from './quantize';
import { qsgdEntryBits } from './qsgd';

const spec = (over: Partial<CompressionSpec> = {}): CompressionSpec =>
  ({ method: 'qsgd', rho: 0.25, valueBits: 32, errorFeedback: false, levels: 15, ...over });

/** One layer "L" with d_in=6, d_out=5, r=4 and a 3-value head. */
function fixture(seed: string): { global: WeightMap; update: WeightMap } {
  const g = new Rng(seed);
  const w = (shape: number[], std: number) => ({ shape, data: g.normalArray(shape[0] * (shape[1] ?? 1), std) });
  return {
    global: { 'L.lora_a': w([6, 4], 1), 'L.lora_b': w([4, 5], 1), 'head.b': w([3], 1) },
    update: { 'L.lora_a': w([6, 4], 0.3), 'L.lora_b': w([4, 5], 0.3), 'head.b': w([3], 1) },
  };
}
const input = (f: ReturnType<typeof fixture>, rng = new Rng('c')) => ({ ...f, layers: loraLayers(f.global), rho: 0.25, rng });
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('QSGD', () => {
  const f = fixture('qsgd');

  it('bits: header + dense head + one norm per factor tensor + (sign + ceil(log2(s+1))) per LoRA entry', () => {
    // 44 LoRA entries in 2 tensors, 3 head values, 64-bit header
    expect(qsgdEntryBits(15)).toBe(5);
    expect(qsgdEntryBits(1)).toBe(2);
    expect(qsgdEntryBits(16)).toBe(6);
    for (const [levels, valueBits] of [[15, 32], [1, 32], [255, 16]] as const) {
      const c = makeCompressor(spec({ levels, valueBits }));
      const out = c.compress(input(f));
      const formula = 64 + 3 * valueBits + 2 * valueBits + 44 * qsgdEntryBits(levels);
      expect(out.bits).toBe(formula);
      expect(c.cost({ layers: loraLayers(f.global), denseParams: 3 }, 0.1).bits).toBe(formula); // rho does not apply
    }
  });

  it('every sent entry is ||v|| sgn(v_i) l / s with l in 0..s, and the head is sent as is', () => {
    const out = makeCompressor(spec({ levels: 4 })).compress(input(f));
    for (const name of ['L.lora_a', 'L.lora_b']) {
      const v = f.update[name].data, q = out.update[name].data, n = Math.fround(norm(v));
      q.forEach((x, i) => {
        const l = Math.abs(x) / n * 4;
        expect(Math.abs(l - Math.round(l))).toBeLessThan(1e-5);
        expect(Math.round(l)).toBeGreaterThanOrEqual(0);
        expect(Math.round(l)).toBeLessThanOrEqual(4);
        if (x !== 0) expect(Math.sign(x)).toBe(Math.sign(v[i]));
        // rounded to one of the two levels around |v_i|
        expect(Math.abs(Math.abs(x) - Math.abs(v[i]))).toBeLessThanOrEqual(n / 4 + 1e-6);
      });
    }
    expect(Array.from(out.update['head.b'].data)).toEqual(Array.from(f.update['head.b'].data));
  });

  it('is unbiased: the mean of many quantisations approaches the update', () => {
    const c = makeCompressor(spec({ levels: 2 }));
    const v = f.update['L.lora_a'].data, sum = new Float64Array(v.length), trials = 4000;
    for (let t = 0; t < trials; t++) {
      const q = c.compress(input(f, new Rng(`t${t}`))).update['L.lora_a'].data;
      for (let i = 0; i < v.length; i++) sum[i] += q[i];
    }
    const n = norm(v);
    // each entry's variance is at most (n/s)^2 / 4: 5 standard errors of the mean
    for (let i = 0; i < v.length; i++) expect(Math.abs(sum[i] / trials - v[i])).toBeLessThan(5 * (n / 2 / 2) / Math.sqrt(trials));
  });

  it('same stream, same bits; another stream, other draws; 16-bit values round the norm and the head', () => {
    const c = makeCompressor(spec());
    const a = c.compress(input(f, new Rng('s'))), b = c.compress(input(f, new Rng('s'))), d = c.compress(input(f, new Rng('other')));
    expect(Array.from(a.update['L.lora_b'].data)).toEqual(Array.from(b.update['L.lora_b'].data));
    expect(Array.from(a.update['L.lora_b'].data)).not.toEqual(Array.from(d.update['L.lora_b'].data));
    const h = makeCompressor(spec({ valueBits: 16 })).compress(input(f));
    for (const x of h.update['head.b'].data) expect(x).toBe(f16Round(x));
  });

  it('works with error feedback: sent + residual equals the update', () => {
    const ef = new ErrorFeedback(makeCompressor(spec({ levels: 3 })));
    const { out, residual } = ef.compressWithResidual(input(f), undefined);
    for (const name of ['L.lora_a', 'L.lora_b']) {
      f.update[name].data.forEach((x, i) => expect(out.update[name].data[i] + residual[name].data[i]).toBeCloseTo(x, 6));
    }
  });

  it('config: compression.levels is validated; a controller that chooses rho refuses qsgd', () => {
    expect(validateConfig({ compression: { method: 'qsgd', levels: 0 } })).toMatchObject({ ok: false, issues: [{ path: 'compression.levels' }] });
    const r = validateConfig({ compression: { method: 'qsgd' }, control: { method: 'tsfa', latencyBudgetS: 2 } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]).toMatchObject({ path: 'compression.method', message: expect.stringMatching(/chooses rho.*soft, topk, randk, svd/) });
  });
});

describe('QSGD trains the quick preset', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('configs/quick.json with qsgd (2,000 training samples, 2 rounds) trains, sends the formula\'s bits and learns', async () => {
    const root = path.resolve(__dirname, '../../..');
    const quick = JSON.parse(fs.readFileSync(path.join(root, 'configs/quick.json'), 'utf8')) as Record<string, unknown>;
    const cfg = parseConfig({ ...quick, backend: 'wasm', compression: { method: 'qsgd', levels: 15 }, data: { trainSamples: 2000, testSamples: 500 }, federation: { ...(quick.federation as object), rounds: 2 } });
    const t = await buildTrainer(cfg, root);
    const layers = loraLayers(t.state.global);
    const entries = layers.reduce((n, l) => n + l.rank * (l.din + l.dout), 0);
    const dense = Object.entries(t.state.global).filter(([k]) => !k.includes('.lora_')).reduce((n, [, w]) => n + w.data.length, 0);
    const rows = [await t.runRound(), await t.runRound()];
    for (const m of rows) for (const b of m.clientBits) expect(b).toBe(64 + dense * 32 + 2 * layers.length * 32 + entries * 5);
    expect(rows[1].testAcc!).toBeGreaterThan(0.25); // 10 classes: chance is 0.1
    t.dispose();
  }, 120_000);
});
