import { describe, expect, it } from 'vitest';
import { weightedMean } from './aggregate';

const w = (shape: number[], vals: number[]) => ({ shape, data: Float32Array.from(vals) });

describe('weightedMean', () => {
  it('averages A and B separately, weighted by shard size', () => {
    // Prepare: two clients, weights 1 and 3
    const r = [
      { weight: 1, update: { a: w([2], [4, 0]), b: w([1], [8]) } },
      { weight: 3, update: { a: w([2], [0, 4]), b: w([1], [0]) } },
    ];
    // Execute
    const m = weightedMean(r);
    // Assert: (1*4 + 3*0)/4 = 1, (0 + 12)/4 = 3, b = 8/4 = 2
    expect([...m.a.data]).toEqual([1, 3]);
    expect([...m.b.data]).toEqual([2]);
  });

  it('averages an element over the clients that sent it only', () => {
    const r = [
      { weight: 1, update: { a: w([3], [2, 2, 2]) }, sent: { a: Uint8Array.from([1, 0, 1]) } },
      { weight: 1, update: { a: w([3], [4, 4, 0]) }, sent: { a: Uint8Array.from([1, 1, 0]) } },
    ];
    expect([...weightedMean(r).a.data]).toEqual([3, 4, 2]);
  });

  it('rejects mismatched tensors', () => {
    expect(() => weightedMean([
      { weight: 1, update: { a: w([2], [1, 2]) } },
      { weight: 1, update: { a: w([3], [1, 2, 3]) } },
    ])).toThrow(/"a"/);
  });
});
