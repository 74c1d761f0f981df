import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Channel, dbmToWatt, pathLossDb, rate, type ChannelSpec } from './channel';
import { equalAllocation, finishTimes, minimalShare, minMaxAllocation, type Demand } from './allocation';
import { Rng } from '../rng';

const spec: ChannelSpec = { radiusM: 500, minDistanceM: 10, txPowerDbm: 23, noisePsdDbmHz: -174, bandwidthHz: 20e6, computeGflopsMin: 5, computeGflopsMax: 20, downlinkMbps: null };

describe('channel', () => {
  it('path loss 128.1 + 37.6 log10(d_km) at known distances', () => {
    expect(pathLossDb(1000)).toBeCloseTo(128.1, 12);
    expect(pathLossDb(100)).toBeCloseTo(90.5, 12);
    expect(pathLossDb(500)).toBeCloseTo(128.1 + 37.6 * Math.log10(0.5), 12);
  });

  it('Rayleigh fading power has mean 1 and variance 1 over many draws (seeded)', () => {
    const ch = new Channel(spec, 4, Rng.fromSeed(7).child('channel'));
    const xs = Array.from({ length: 20000 }, (_, i) => ch.fading(Math.floor(i / 4) + 1, i % 4));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.08);
  });

  it('devices lie in the annulus, speeds in range; the same seed gives the same draws', () => {
    const a = new Channel(spec, 50, Rng.fromSeed(3).child('channel'));
    const b = new Channel(spec, 50, Rng.fromSeed(3).child('channel'));
    for (const d of a.devices) {
      expect(d.distanceM).toBeGreaterThanOrEqual(10);
      expect(d.distanceM).toBeLessThanOrEqual(500);
      expect(d.flops).toBeGreaterThanOrEqual(5e9);
      expect(d.flops).toBeLessThanOrEqual(20e9);
    }
    expect(b.devices).toEqual(a.devices);
    expect(b.gain(9, 17)).toBe(a.gain(9, 17));
    expect(new Channel(spec, 50, Rng.fromSeed(4).child('channel')).gain(9, 17)).not.toBe(a.gain(9, 17));
  });

  it('rate is increasing and concave in the share', () => {
    const g = 10 ** (-pathLossDb(300) / 10);
    const xs = Array.from({ length: 101 }, (_, i) => i / 100);
    const r = xs.map((x) => rate(x, g, spec));
    expect(r[0]).toBe(0);
    for (let i = 1; i < r.length; i++) expect(r[i]).toBeGreaterThan(r[i - 1]);
    for (let i = 1; i < r.length - 1; i++) expect(r[i + 1] - 2 * r[i] + r[i - 1]).toBeLessThan(0);
  });

  it('SNR limits: W log2(SNR) at high SNR, p g / (N0 ln 2) in the wideband limit', () => {
    const g = 10 ** (-pathLossDb(50) / 10);
    const narrow = { ...spec, bandwidthHz: 1e3 };
    const snr = dbmToWatt(23) * g / (1e3 * dbmToWatt(-174));
    expect(rate(1, g, narrow) / (1e3 * Math.log2(snr))).toBeCloseTo(1, 2);
    const wide = { ...spec, bandwidthHz: 1e15 };
    const far = 10 ** (-pathLossDb(500) / 10);
    expect(rate(1, far, wide) / (dbmToWatt(23) * far / (dbmToWatt(-174) * Math.LN2))).toBeCloseTo(1, 2);
  });
});

const demandArb = fc.record({
  compute: fc.double({ min: 0, max: 2, noNaN: true }),
  bits: fc.double({ min: 1e3, max: 1e7, noNaN: true }),
  distance: fc.double({ min: 10, max: 500, noNaN: true }),
  fading: fc.double({ min: 0.01, max: 5, noNaN: true }),
}).map((d): Demand => ({ compute: d.compute, bits: d.bits, gain: 10 ** (-pathLossDb(d.distance) / 10) * d.fading }));

describe('bandwidth allocation', () => {
  it('minimalShare meets the needed rate exactly', () => {
    const g = 10 ** (-pathLossDb(200) / 10);
    for (const need of [1e3, 1e5, 1e6, 5e7]) {
      const s = minimalShare(need, g, spec);
      expect(rate(s, g, spec) / need).toBeCloseTo(1, 9);
    }
    expect(minimalShare(1e12, g, spec)).toBe(Infinity);
  });

  it('min-max: shares sum to 1, finish times equal, never slower than equal shares (property)', () => {
    fc.assert(fc.property(fc.array(demandArb, { minLength: 1, maxLength: 10 }), (ds) => {
      const eq = equalAllocation(ds, spec);
      const mm = minMaxAllocation(ds, spec);
      expect(Math.abs(mm.shares.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
      expect(mm.time).toBeLessThanOrEqual(eq.time * (1 + 1e-12));
      // every client finishes at T (within 1e-9 relative) when no client is nearly alone at its own optimum (ill-conditioned)
      const alone = ds.map((d) => d.compute + d.bits / rate(1, d.gain, spec));
      if (Math.max(...alone) < mm.time * (1 - 1e-3)) {
        for (const f of mm.finish) expect(Math.abs(f - mm.time) / mm.time).toBeLessThan(1e-9);
      }
    }), { numRuns: 200, seed: 11 });
  });

  it('min-max matches a brute-force search on two clients, including one that cannot make it sooner', () => {
    const cases: Demand[][] = [
      [{ compute: 0.1, bits: 2e6, gain: 10 ** (-pathLossDb(100) / 10) }, { compute: 0.5, bits: 2e6, gain: 10 ** (-pathLossDb(450) / 10) }],
      [{ compute: 30, bits: 1e3, gain: 10 ** (-pathLossDb(100) / 10) }, { compute: 0.1, bits: 1e6, gain: 10 ** (-pathLossDb(300) / 10) }],
    ];
    for (const ds of cases) {
      let best = Infinity;
      for (let i = 1; i < 200000; i++) {
        const s = i / 200000;
        best = Math.min(best, Math.max(...finishTimes(ds, [s, 1 - s], spec).finish));
      }
      const mm = minMaxAllocation(ds, spec);
      expect(mm.time).toBeLessThanOrEqual(best * (1 + 1e-9));
      expect(mm.time / best).toBeCloseTo(1, 5);
    }
  });
});
