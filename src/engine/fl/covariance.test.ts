import { describe, expect, it } from 'vitest';
import { frobenius } from '../compress/linalg';
import { loraLayers } from '../compress/types';
import type { WeightMap } from '../model/types';
import { Rng } from '../rng';
import { covarianceTerms, relativeCovarianceNorm } from './covariance';

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
});
