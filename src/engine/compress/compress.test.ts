import { describe, expect, it } from 'vitest';
import type { WeightMap } from '../model/types';
import { Rng } from '../rng';
import { ErrorFeedback, loraLayers, makeCompressor, relativeError, type CompressionSpec } from './index';
import { frobenius, fromF32, mat, matmul, orthonormalizeColumns, svdJacobi, truncatedSvd } from './linalg';
import { componentImportance, indexBits } from './soft';
import { f16Round } from './quantize';
import { factorProduct, subMat } from './svd';

const spec = (method: CompressionSpec['method'], over: Partial<CompressionSpec> = {}): CompressionSpec =>
  ({ method, rho: 0.25, valueBits: 32, importance: 'exact', errorFeedback: false, ...over });

/** One layer "L" with d_in=6, d_out=5, r=4 and a 3-value head. */
function fixture(seed: string, din = 6, dout = 5, r = 4): { global: WeightMap; update: WeightMap } {
  const g = new Rng(seed);
  const w = (shape: number[], std: number) => ({ shape, data: g.normalArray(shape[0] * (shape[1] ?? 1), std) });
  return {
    global: { 'L.lora_a': w([din, r], 1), 'L.lora_b': w([r, dout], 1), 'head.b': w([3], 1) },
    update: { 'L.lora_a': w([din, r], 0.3), 'L.lora_b': w([r, dout], 0.3), 'head.b': w([3], 1) },
  };
}

const input = (f: ReturnType<typeof fixture>, rho: number) => ({ ...f, layers: loraLayers(f.global), rho, rng: new Rng('c') });

describe('bit accounting (hand-computed)', () => {
  const f = fixture('bits');
  // LoRA entries: 6*4 + 4*5 = 44; head: 3 values; header 64
  it('none: every value at 32 bits + header', () => {
    expect(makeCompressor(spec('none')).compress(input(f, 1)).bits).toBe(64 + (44 + 3) * 32);
    expect(makeCompressor(spec('none', { valueBits: 16 })).compress(input(f, 1)).bits).toBe(64 + (44 + 3) * 16);
  });
  it('soft: m (d_in + d_out) values + index bits + head + header', () => {
    // rho 0.5, r 4 -> m = 2; index bits = min(4-bit mask, 2 * 2) = 4
    expect(indexBits(2, 4)).toBe(4);
    expect(indexBits(1, 64)).toBe(6);
    expect(indexBits(40, 64)).toBe(64);
    expect(makeCompressor(spec('soft')).compress(input(f, 0.5)).bits).toBe(64 + 3 * 32 + 2 * (6 + 5) * 32 + 4);
  });
  it('topk: k values + positions as min(44-bit mask, k indices of ceil(log2 44) = 6 bits)', () => {
    // k = ceil(0.25 * 44) = 11: the list (66 bits) is longer than the mask (44)
    expect(makeCompressor(spec('topk')).compress(input(f, 0.25)).bits).toBe(64 + 3 * 32 + 11 * 32 + 44);
    // k = ceil(0.1 * 44) = 5: the list (30 bits) is shorter
    expect(makeCompressor(spec('topk', { rho: 0.1 })).compress(input(f, 0.1)).bits).toBe(64 + 3 * 32 + 5 * 32 + 5 * 6);
  });
  it('randk: k values + a 32-bit seed', () => {
    expect(makeCompressor(spec('randk')).compress(input(f, 0.25)).bits).toBe(64 + 3 * 32 + 11 * 32 + 32);
  });
  it('svd: m (d_in + d_out) values', () => {
    expect(makeCompressor(spec('svd')).compress(input(f, 0.5)).bits).toBe(64 + 3 * 32 + 2 * (6 + 5) * 32);
  });
});

describe('SOFT importance', () => {
  it('equals ||b\'_i a\'_i^T - b_i a_i^T||_F computed from explicit matrices', () => {
    const f = fixture('imp', 7, 9, 5);
    const [layer] = loraLayers(f.global);
    const s = componentImportance(layer, f.global, f.update, 'exact');
    const { din, dout, rank: r } = layer;
    for (let i = 0; i < r; i++) {
      let sq = 0;
      for (let p = 0; p < din; p++) for (let q = 0; q < dout; q++) {
        const a = f.global['L.lora_a'].data[p * r + i], b = f.global['L.lora_b'].data[i * dout + q];
        const a2 = a + f.update['L.lora_a'].data[p * r + i], b2 = b + f.update['L.lora_b'].data[i * dout + q];
        sq += (a2 * b2 - a * b) ** 2;
      }
      expect(s[i]).toBeCloseTo(Math.sqrt(sq), 4);
    }
  });

  it('keeps the same components as SVD truncation on exactly orthogonal factors (same error)', () => {
    // B A with orthogonal columns/rows and distinct norms: the SVD of dW is the components themselves
    const din = 12, dout = 10, r = 6, rng = new Rng('orth');
    const Qa = orthonormalizeColumns(mat(din, r, Float64Array.from(rng.normalArray(din * r))));
    const Qb = orthonormalizeColumns(mat(dout, r, Float64Array.from(rng.normalArray(dout * r))));
    const norms = [0.3, 2.0, 0.9, 1.5, 0.1, 1.1];
    const global: WeightMap = { 'L.lora_a': { shape: [din, r], data: new Float32Array(din * r) }, 'L.lora_b': { shape: [r, dout], data: new Float32Array(r * dout) } };
    const update: WeightMap = { 'L.lora_a': { shape: [din, r], data: new Float32Array(din * r) }, 'L.lora_b': { shape: [r, dout], data: new Float32Array(r * dout) } };
    for (let i = 0; i < r; i++) {
      for (let p = 0; p < din; p++) update['L.lora_a'].data[p * r + i] = Qa.data[p * r + i] * norms[i];
      for (let q = 0; q < dout; q++) update['L.lora_b'].data[i * dout + q] = Qb.data[q * r + i];
    }
    for (const rho of [1 / 6, 2 / 6, 3 / 6]) {
      const inp = { global, update, layers: loraLayers(global), rho, rng: new Rng('s') };
      const soft = makeCompressor(spec('soft')).compress(inp);
      const svd = makeCompressor(spec('svd')).compress(inp);
      const m = Math.round(rho * r);
      expect(soft.selected!.L).toEqual([1, 3, 5, 2].slice(0, m).sort((a, b) => a - b));
      const eSoft = relativeError(inp.layers, global, update, soft), eSvd = relativeError(inp.layers, global, update, svd);
      expect(eSoft).toBeCloseTo(eSvd, 5);
      // and that error is the optimal one: the norm of the dropped singular values
      const dropped = [...norms].sort((a, b) => b - a).slice(m);
      const total = Math.sqrt(norms.reduce((a, b) => a + b * b, 0));
      expect(eSoft).toBeCloseTo(Math.sqrt(dropped.reduce((a, b) => a + b * b, 0)) / total, 5);
    }
  });

  it('sends only the selected components, whole', () => {
    const f = fixture('sel', 6, 5, 4);
    const out = makeCompressor(spec('soft')).compress(input(f, 0.5));
    const sel = out.selected!.L;
    expect(sel.length).toBe(2);
    for (let i = 0; i < 4; i++) {
      const col = Array.from({ length: 6 }, (_, p) => out.update['L.lora_a'].data[p * 4 + i]);
      const expected = Array.from({ length: 6 }, (_, p) => (sel.includes(i) ? f.update['L.lora_a'].data[p * 4 + i] : 0));
      expect(col).toEqual(expected);
      expect(out.sent!['L.lora_b'][i * 5]).toBe(sel.includes(i) ? 1 : 0);
    }
  });
});

describe('error feedback', () => {
  it('conserves the update: sent + residual == update + previous residual', () => {
    for (const method of ['soft', 'topk', 'randk'] as const) {
      const f = fixture(`ef-${method}`);
      const ef = new ErrorFeedback(makeCompressor(spec(method)));
      const first = ef.compressWithResidual(input(f, 0.25), undefined);
      const second = ef.compressWithResidual(input(f, 0.25), first.residual);
      for (const name of ['L.lora_a', 'L.lora_b']) {
        for (let i = 0; i < f.update[name].data.length; i++) {
          const full = f.update[name].data[i] + first.residual[name].data[i];
          expect(second.out.update[name].data[i] + second.residual[name].data[i]).toBeCloseTo(full, 6);
        }
      }
      // something was actually held back
      expect(frobenius(first.residual['L.lora_a'].data) + frobenius(first.residual['L.lora_b'].data)).toBeGreaterThan(0);
    }
  });
});

describe('16-bit values', () => {
  const decode = (h: number) => {
    const sgn = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    return e === 0 ? sgn * 2 ** -14 * (m / 1024) : sgn * 2 ** (e - 15) * (1 + m / 1024);
  };

  it('f16Round keeps every finite half value and rounds midpoints to even', () => {
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) === 31) continue;
      const v = decode(h);
      expect(f16Round(v)).toBe(v);
    }
    expect(f16Round(1 + 2 ** -11)).toBe(1); // tie -> even mantissa 0
    expect(f16Round(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie -> even mantissa 2
    expect(f16Round(1 / 3)).toBe(0.333251953125);
    expect(f16Round(2 ** -26)).toBe(0); // below half the smallest subnormal
    expect(f16Round(-70000)).toBe(-Infinity);
    expect(f16Round(65504)).toBe(65504);
  });

  it('svd with 16-bit values: the server reconstructs exactly the product of the rounded U S and V it was sent', () => {
    const f = fixture('f16-svd', 9, 7, 4);
    const [layer] = loraLayers(f.global);
    const out = makeCompressor(spec('svd', { valueBits: 16 })).compress(input(f, 0.5));
    // the same sketch the compressor draws (stream svd:<layer> of the message's rng)
    const dW = subMat(factorProduct(layer, f.global, f.update), factorProduct(layer, f.global));
    const { U, S, V } = truncatedSvd(dW, 2, new Rng('c').child('svd:L'), 8);
    const US = mat(9, 2), Vr = mat(7, 2);
    for (let i = 0; i < 9; i++) for (let j = 0; j < 2; j++) US.data[i * 2 + j] = f16Round(U.data[i * U.cols + j] * S[j]);
    for (let i = 0; i < V.data.length; i++) Vr.data[i] = f16Round(V.data[i]);
    const expected = matmul(US, Vr, false, true);
    expect(Array.from(out.productUpdate!.L.data)).toEqual(Array.from(expected.data));
    // and not the product rounded entry by entry (what 16 bits cannot carry: the product is never sent)
    expect(out.productUpdate!.L.data.some((v) => f16Round(v) !== v)).toBe(true);
  });

  it('what a 16-bit message carries is float16, and error feedback keeps the rounding error', () => {
    for (const method of ['none', 'soft', 'topk', 'randk', 'svd'] as const) {
      const f = fixture(`f16-${method}`);
      const c = makeCompressor(spec(method, { valueBits: 16 }));
      const out = c.compress(input(f, 0.5));
      for (const t of Object.values(out.update)) for (const v of t.data) expect(f16Round(v)).toBe(v);
      expect(out.bits).toBe(c.cost({ layers: loraLayers(f.global), denseParams: 3 }, 0.5).bits);
    }
    const f = fixture('f16-ef');
    const ef = new ErrorFeedback(makeCompressor(spec('none', { valueBits: 16 })));
    const { out, residual } = ef.compressWithResidual(input(f, 1), undefined);
    for (let i = 0; i < f.update['L.lora_a'].data.length; i++) {
      expect(out.update['L.lora_a'].data[i] + residual['L.lora_a'].data[i]).toBeCloseTo(f.update['L.lora_a'].data[i], 6);
    }
    expect(frobenius(residual['L.lora_a'].data)).toBeGreaterThan(0); // rounding error held back
  });
});

describe('relative error', () => {
  it('is 0 for dense, in (0, 1] for a sparse method, and svd is optimal among rank-m factor methods', () => {
    const f = fixture('rel', 8, 8, 4);
    const layers = loraLayers(f.global);
    expect(relativeError(layers, f.global, f.update, makeCompressor(spec('none')).compress(input(f, 1)))).toBeCloseTo(0, 10);
    const eTop = relativeError(layers, f.global, f.update, makeCompressor(spec('topk')).compress(input(f, 0.25)));
    expect(eTop).toBeGreaterThan(0);
    const eSvd = relativeError(layers, f.global, f.update, makeCompressor(spec('svd')).compress(input(f, 0.5)));
    const eSoft = relativeError(layers, f.global, f.update, makeCompressor(spec('soft')).compress(input(f, 0.5)));
    expect(eSvd).toBeLessThanOrEqual(eSoft + 1e-9);
    // svd error equals the tail of the exact singular values of dW
    const dW = subMat(factorProduct(layers[0], f.global, f.update), factorProduct(layers[0], f.global));
    const { S } = svdJacobi(dW);
    const tail = Math.sqrt(S.slice(2).reduce((a, b) => a + b * b, 0)), all = Math.sqrt(S.reduce((a, b) => a + b * b, 0));
    expect(eSvd).toBeCloseTo(tail / all, 5);
  });
});

describe('linalg', () => {
  it('svdJacobi reconstructs A = U S V^T', () => {
    const r = new Rng('svd');
    const A = fromF32(7, 5, r.normalArray(35));
    const { U, S, V } = svdJacobi(A);
    const US = mat(7, 5);
    for (let i = 0; i < 7; i++) for (let j = 0; j < 5; j++) US.data[i * 5 + j] = U.data[i * 5 + j] * S[j];
    const rec = matmul(US, V, false, true);
    expect(frobenius(subMat(rec, A))).toBeLessThan(1e-9);
    for (let j = 1; j < 5; j++) expect(S[j]).toBeLessThanOrEqual(S[j - 1]);
  });
});
