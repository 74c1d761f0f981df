import { describe, expect, it } from 'vitest';
import { benchMemory } from './memory';

describe('bench memory --rounds', () => {
  it('samples the tensors after every round and reports their growth from round 2 (none on wasm)', async () => {
    const r = await benchMemory({ backend: 'wasm', rounds: 4, clients: 2 });
    expect(r.perRound.map((x) => x.round)).toEqual([1, 2, 3, 4]);
    expect(r.perRound[3].numTensors).toBe(r.numTensors);
    expect(r.growthAfterRound2).toEqual({ tensors: r.perRound[3].numTensors - r.perRound[1].numTensors, bytes: r.perRound[3].numBytes - r.perRound[1].numBytes, gpuBytes: null });
    expect(r.growthAfterRound2.tensors).toBe(0);
    expect(r.growthAfterRound2.bytes).toBe(0);
  });

  it('--spec: a random-weight model of that shape instead of the shipped one (its smaller state per client)', async () => {
    const shipped = await benchMemory({ backend: 'wasm', rounds: 2, clients: 1 });
    const small = await benchMemory({ backend: 'wasm', rounds: 2, clients: 1, spec: '{"imageSize":28,"channels":1,"patchSize":14,"dim":16,"depth":1,"heads":2,"mlpDim":32}' });
    expect(small.perClientKiB).toBeLessThan(shipped.perClientKiB / 4);
    await expect(benchMemory({ spec: '{"dim":' })).rejects.toThrow(/--spec: not JSON/);
  });

  it('refuses fewer than 2 rounds and a bad client count, naming the option', async () => {
    await expect(benchMemory({ rounds: 1 })).rejects.toThrow(/--rounds: must be an integer >= 2, got 1/);
    await expect(benchMemory({ clients: 0 })).rejects.toThrow(/--clients: must be an integer >= 1, got 0/);
  });
});
