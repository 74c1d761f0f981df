import { describe, expect, it } from 'vitest';
import { frobenius } from '../compress/linalg';
import { loraLayers } from '../compress/types';
import type { WeightMap } from '../model/types';
import { Rng } from '../rng';
import { covarianceTerms, relativeCovarianceNorm } from './covariance';
import { weightedMean } from './aggregate';
import { addScaledInPlace, cloneWeights, subtractWeights } from '../model/weights';

function factors(seed: string, din = 5, dout = 4, r = 3): WeightMap {
  const g = new Rng(seed);
  return { 'L.lora_a': { shape: [din, r], data: g.normalArray(din * r) }, 'L.lora_b': { shape: [r, dout], data: g.normalArray(r * dout) } };
}

describe('covariance effect', () => {
  it('mean_k(A_k B_k) = Abar Bbar + C exactly', () => {
    const clients = [1, 2, 3].map((k) => ({ weight: k, factors: factors(`c${k}`) }));
    const [layer] = loraLayers(clients[0].factors);
    const { C, meanOfProducts, productOfMeans } = covarianceTerms(layer, clients);
    for (let i = 0; i < C.data.length; i++) expect(productOfMeans.data[i] + C.data[i]).toBeCloseTo(meanOfProducts.data[i], 10);
    expect(frobenius(C)).toBeGreaterThan(0.1);
  });

  it('is zero when all clients agree, positive when they differ', () => {
    const same = factors('same');
    const layers = loraLayers(same);
    const global = factors('global');
    expect(relativeCovarianceNorm(layers, global, [{ weight: 1, factors: same }, { weight: 2, factors: same }])).toBe(0);
    const rel = relativeCovarianceNorm(layers, global, [{ weight: 1, factors: factors('x') }, { weight: 1, factors: factors('y') }]);
    expect(rel).toBeGreaterThan(0.05);
  });

  it('with the factors the server applied: equal to the covariance under plain means, the applied product error under senders', () => {
    const global = factors('g');
    const layers = loraLayers(global);
    const clients = [1, 2, 3].map((k) => ({ weight: k, factors: factors(`s${k}`) }));
    const updates = clients.map((c) => ({ weight: c.weight, update: subtractWeights(c.factors, global) }));
    // all: the applied factors are the weighted means, so the two definitions agree
    const all = cloneWeights(global);
    addScaledInPlace(all, weightedMean(updates));
    expect(relativeCovarianceNorm(layers, global, clients, all)).toBeCloseTo(relativeCovarianceNorm(layers, global, clients), 6); // float32 weights
    // senders: client 1 sent only the first half of each tensor; entries are averaged over their senders
    const sent = Object.fromEntries(Object.entries(global).map(([k, t]) => [k, Uint8Array.from(t.data, (_, i) => (i < t.data.length / 2 ? 1 : 0))]));
    const masked = updates.map((u, k) => (k === 0 ? { ...u, sent } : u));
    const applied = cloneWeights(global);
    addScaledInPlace(applied, weightedMean(masked));
    const rel = relativeCovarianceNorm(layers, global, clients, applied);
    expect(rel).not.toBeCloseTo(relativeCovarianceNorm(layers, global, clients), 3);
    // by hand: || mean_k(A_k B_k) - A_applied B_applied || / || mean_k(A_k B_k) - A B ||
    const { meanOfProducts } = covarianceTerms(layers[0], clients);
    const prod = (w: WeightMap) => { const [l] = layers; const out = new Float64Array(l.din * l.dout);
      for (let i = 0; i < l.din; i++) for (let j = 0; j < l.dout; j++) { let s = 0; for (let q = 0; q < l.rank; q++) s += w['L.lora_a'].data[i * l.rank + q] * w['L.lora_b'].data[q * l.dout + j]; out[i * l.dout + j] = s; } return out; };
    const pa = prod(applied), pg = prod(global);
    let num = 0, den = 0;
    for (let i = 0; i < pa.length; i++) { num += (meanOfProducts.data[i] - pa[i]) ** 2; den += (meanOfProducts.data[i] - pg[i]) ** 2; }
    expect(rel).toBeCloseTo(Math.sqrt(num / den), 6);
  });
});
