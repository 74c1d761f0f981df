import { describe, expect, it } from 'vitest';
import { Rng } from '../rng';
import { labelHistogram, meanTotalVariation, partition, type PartitionSpec } from './partition';

const labels = Int32Array.from({ length: 2000 }, (_, i) => i % 10);

function checkCover(parts: Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  for (const p of parts) for (let i = 0; i < p.length; i++) { expect(seen[p[i]]).toBe(0); seen[p[i]] = 1; if (i) expect(p[i]).toBeGreaterThan(p[i - 1]); }
  expect(seen.every((s) => s === 1)).toBe(true);
}

describe('partitioners', () => {
  const specs: PartitionSpec[] = [{ method: 'iid' }, { method: 'dirichlet', alpha: 0.5 }, { method: 'shards', classesPerClient: 2 }];

  it('are deterministic for a seed, differ across seeds, and split disjointly and completely', () => {
    for (const s of specs) {
      const a = partition(s, labels, 20, 10, Rng.fromSeed(1).child('p'));
      const b = partition(s, labels, 20, 10, Rng.fromSeed(1).child('p'));
      const c = partition(s, labels, 20, 10, Rng.fromSeed(2).child('p'));
      expect(a.map((x) => [...x])).toEqual(b.map((x) => [...x]));
      expect(a.map((x) => [...x])).not.toEqual(c.map((x) => [...x]));
      checkCover(a, labels.length);
    }
  });

  it('iid gives equal sizes and near-global label mixes', () => {
    const p = partition({ method: 'iid' }, labels, 20, 10, new Rng('iid'));
    expect(p.every((x) => x.length === 100)).toBe(true);
    expect(meanTotalVariation(labels, p, 10)).toBeLessThan(0.2);
  });

  it('dirichlet skew grows as alpha falls', () => {
    const tv = [100, 1, 0.1].map((alpha) => meanTotalVariation(labels, partition({ method: 'dirichlet', alpha }, labels, 20, 10, new Rng('d')), 10));
    expect(tv[0]).toBeLessThan(0.15);
    expect(tv[1]).toBeGreaterThan(tv[0]);
    expect(tv[2]).toBeGreaterThan(tv[1]);
    expect(tv[2]).toBeGreaterThan(0.5);
  });

  it('shards give each client at most k labels', () => {
    const p = partition({ method: 'shards', classesPerClient: 2 }, labels, 20, 10, new Rng('s'));
    for (const h of labelHistogram(labels, p, 10)) expect(h.filter((c) => c > 0).length).toBeLessThanOrEqual(2);
  });

  it('rejects impossible settings with the config field named', () => {
    expect(() => partition({ method: 'iid' }, labels.slice(0, 5), 10, 10, new Rng('x'))).toThrow(/federation\.numClients/);
    expect(() => partition({ method: 'dirichlet', alpha: 0.001 }, labels.slice(0, 40), 20, 10, new Rng('x'))).toThrow(/federation\.partition\.alpha/);
  });
});
