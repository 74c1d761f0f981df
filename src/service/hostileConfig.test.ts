/**
 * Hostile configs and requests (issue "hostile inputs", items 1, 4, 5, 6, 10 and run names):
 * prototype segments in sweep grids, heavy-but-valid configs, deep nesting, more clients than
 * samples, absurd channel values. Each answers with an issue naming the field, quickly, and
 * leaves the process able to validate the next config.
 */
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cellEdgeSnr, validateConfig } from '../engine/config';
import { pathLossDb, rate } from '../engine/channel/channel';
import { ApiError } from '../contract/api';
import { createApi } from './api';
import { RunManager } from './manager';
import { planSweep, SweepError } from './sweep';
import { tinyConfig } from './testFixtures';
import { validateRunConfig } from './validate';

const root = process.cwd();
const tsfa = (over: Record<string, unknown> = {}) => tinyConfig({
  compression: { method: 'soft' }, channel: { bandwidthHz: 1e5 }, control: { method: 'tsfa', latencyBudgetS: 100 }, ...over,
});

function setup() {
  const manager = new RunManager({ runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-hostile-')) });
  return { manager, api: createApi(manager, { transport: 'http' }) };
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try { await p; } catch (e) { expect(e).toBeInstanceOf(ApiError); return e as ApiError; }
  throw new Error('expected an ApiError');
}

const issuesOf = (input: unknown) => {
  const r = validateRunConfig(input, root);
  return r.ok ? [] : r.issues;
};

function timed<T>(f: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = f();
  return { value, ms: performance.now() - t };
}

describe('prototype pollution through sweep grids (item 1)', () => {
  it('a grid or variant key with __proto__/constructor/prototype is refused naming it, and nothing is polluted', async () => {
    const { api, manager } = setup();
    for (const key of ['__proto__.polluted', 'constructor.prototype.polluted', 'lora.__proto__.x', 'prototype']) {
      const e = await apiError(api.call('sweeps.create', { spec: { name: 'p', base: tinyConfig(), grid: { [key]: [1, 2] } } }));
      expect(e.code).toBe('invalid-config');
      expect(e.message).toMatch(/__proto__, constructor or prototype/);
      expect(() => planSweep({ base: tinyConfig(), variants: [{ label: 'x', set: { [key]: 1 } }] }, root)).toThrow(SweepError);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    // the process still validates and creates runs
    const v = await api.call('config.validate', { config: tinyConfig() });
    expect(v.ok).toBe(true);
    expect((await api.call('runs.create', { config: tinyConfig() })).status).toBe('created');
    expect(manager.list()).toHaveLength(1);
  });

  it('a sweep expanding to more than 1000 runs is refused before it is expanded', () => {
    const grid = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`x${i}.y`, Array.from({ length: 10 }, (_, j) => j)]));
    const { value, ms } = timed(() => { try { planSweep({ base: tinyConfig(), grid }, root); return null; } catch (e) { return e as SweepError; } });
    expect(value).toBeInstanceOf(SweepError);
    expect(value!.message).toMatch(/more than 10\^12 runs|at most 1000/);
    expect(ms).toBeLessThan(1000);
  });
});

describe('heavy but valid configs are bounded (item 4)', () => {
  it('tsfa with rounds 1e6 and offline.horizon 1e6 is refused naming offline.horizon, in well under a second', () => {
    const { value, ms } = timed(() => issuesOf(tsfa({ federation: { numClients: 4, clientsPerRound: 2, rounds: 1e6 }, offline: { horizon: 1e6 } })));
    expect(value.map((i) => i.path)).toEqual(['offline.horizon']);
    expect(value[0].message).toMatch(/<= 10000/);
    expect(ms).toBeLessThan(1000);
  });

  it('the budget check simulates at most 50,000 client-rounds whatever the rounds and horizon: 100 clients a round, 1e6 rounds, checked in bounded time', () => {
    const cfg = tsfa({ federation: { numClients: 200, clientsPerRound: 100, rounds: 1e6 }, offline: { horizon: 10000 }, data: { trainSamples: 2000, testSamples: 100 } });
    const { value, ms } = timed(() => issuesOf(cfg));
    expect(value).toEqual([]);
    const low = timed(() => issuesOf({ ...cfg, control: { method: 'tsfa', latencyBudgetS: 1e-3 } }));
    expect(low.value.map((i) => i.path)).toEqual(['control.latencyBudgetS']);
    expect(Number(/estimated from (\d+) simulated rounds/.exec(low.value[0].message)?.[1])).toBeLessThanOrEqual(500);
    expect(ms + low.ms).toBeLessThan(15_000); // a bound, not a speed target: 5 s and 10 ms (memoised) on the loaded 2-core machine
  });

  it('a Dirichlet partition that keeps leaving clients empty fails in bounded time, naming the field', () => {
    const { value, ms } = timed(() => issuesOf(tinyConfig({ data: { testSamples: 100 }, federation: { numClients: 2000, clientsPerRound: 2, rounds: 1 } })));
    expect(value.map((i) => i.path)).toEqual(['federation.partition.alpha']);
    expect(ms).toBeLessThan(30_000); // a hang guard, not a speed target: 1.8 s idle, ~11 s on a loaded 2-core machine
  });
});

describe('deeply nested requests (item 5)', () => {
  const deepArray = (n: number) => { let v: unknown = 1; for (let i = 0; i < n; i++) v = [v]; return v; };

  it('a 10000-deep array as the config gives a 400-class error naming the problem, not internal', async () => {
    const { api } = setup();
    for (const cmd of ['config.validate', 'runs.create', 'data.preview'] as const) {
      const e = await apiError(api.call(cmd, { config: deepArray(10000) }));
      expect(e.code).toBe('invalid-request');
      expect(e.message).toMatch(/deeper than 64 levels/);
    }
    const e = await apiError(api.call('sweeps.create', { spec: { name: 'd', base: tinyConfig(), grid: { 'lora.rank': [deepArray(10000)] } } }));
    expect(e.code).toBe('invalid-request');
  });

  it('validation itself never throws on deep input (the CLI reads configs without the transport)', () => {
    const r = validateRunConfig(deepArray(10000), root);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues[0].message).toMatch(/deeply nested array/);
    expect(issuesOf({ model: { pixelMean: deepArray(10000) } })[0].path).toMatch(/^model\.pixelMean/);
  });
});

describe('clients and samples (item 6)', () => {
  it('more clients than training samples is one issue at federation.numClients, with or without tsfa', () => {
    for (const cfg of [tinyConfig({ data: { trainSamples: 10, testSamples: 10 }, federation: { numClients: 50, clientsPerRound: 5, rounds: 1 } }), tsfa({ data: { trainSamples: 10, testSamples: 10 }, federation: { numClients: 50, clientsPerRound: 5, rounds: 1 } })]) {
      const issues = issuesOf(cfg);
      expect(issues.map((i) => i.path)).toEqual(['federation.numClients']);
      expect(issues[0].message).toMatch(/10 training samples|has 10/);
    }
  });

  it('the same config answers the same issue through config.validate and data.preview (no 500)', async () => {
    const { api } = setup();
    const cfg = tsfa({ data: { trainSamples: 10, testSamples: 10 }, federation: { numClients: 50, clientsPerRound: 5, rounds: 1 } });
    const v = await api.call('config.validate', { config: cfg });
    expect(!v.ok && v.issues[0].path).toBe('federation.numClients');
    const e = await apiError(api.call('data.preview', { config: cfg }));
    expect(e.code).toBe('invalid-config');
    expect(e.message).toMatch(/federation\.numClients/);
  });
});

describe('physical parameters keep every rate and time finite (item 10)', () => {
  it('bandwidthHz 1e-308, 0-dB powers and other absurd values are refused naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ bandwidthHz: 1e-308 }, 'channel.bandwidthHz'], [{ bandwidthHz: 1e300 }, 'channel.bandwidthHz'],
      [{ txPowerDbm: 1e6 }, 'channel.txPowerDbm'], [{ noisePsdDbmHz: 0 }, 'channel.noisePsdDbmHz'],
      [{ radiusM: 1e12 }, 'channel.radiusM'], [{ minDistanceM: 1e-9 }, 'channel.minDistanceM'],
      [{ computeGflopsMin: 1e-300 }, 'channel.computeGflopsMin'], [{ downlinkMbps: 1e-300 }, 'channel.downlinkMbps'],
      // each in range, together hopeless: the cell edge gets nothing through
      [{ txPowerDbm: -100, noisePsdDbmHz: -50, bandwidthHz: 1e12, radiusM: 1e6 }, 'channel.bandwidthHz'],
    ];
    for (const [channel, field] of cases) {
      const r = validateConfig({ channel });
      expect(r.ok, JSON.stringify(channel)).toBe(false);
      expect(!r.ok && r.issues.map((i) => i.path)).toContain(field);
    }
    const r = validateConfig({ control: { method: 'fixed', latencyBudgetS: 1e300 } });
    expect(!r.ok && r.issues[0].path).toBe('control.latencyBudgetS');
  });

  it('any channel that validates gives finite, positive rates at the cell edge under deep fades (property test)', () => {
    const ch = fc.record({
      radiusM: fc.double({ min: 1, max: 1e6, noNaN: true }), txPowerDbm: fc.double({ min: -100, max: 100, noNaN: true }),
      noisePsdDbmHz: fc.double({ min: -250, max: -50, noNaN: true }), bandwidthHz: fc.double({ min: 1, max: 1e12, noNaN: true }),
    });
    fc.assert(fc.property(ch, fc.integer({ min: 1, max: 100000 }), (c, clients) => {
      const r = validateConfig({ channel: { ...c, minDistanceM: Math.min(0.5, c.radiusM / 2) } });
      if (!r.ok) { expect(cellEdgeSnr(c)).toBeLessThan(1e-3); return; }
      const spec = r.config.channel;
      const edgeGain = 10 ** (-pathLossDb(spec.radiusM) / 10);
      for (const fade of [1, 1e-6]) {
        const bps = rate(1 / clients, edgeGain * fade, spec);
        expect(Number.isFinite(bps) && bps > 0).toBe(true);
        expect(Number.isFinite(1e9 / bps)).toBe(true);
      }
    }), { numRuns: 500 });
  });
});

describe('run names', () => {
  it('a 100 KB name is refused naming the field; 200 characters are fine', () => {
    expect(issuesOf(tinyConfig({ name: 'x'.repeat(100_000) })).map((i) => i.path)).toEqual(['name']);
    expect(issuesOf(tinyConfig({ name: 'x'.repeat(200) }))).toEqual([]);
  });
});
