import { newRunDir } from './testFixtures';
import { describe, expect, it } from 'vitest';
import { executeRun } from './runner';
import { deterministicPart, readMetrics, readJson, files } from './runs/runStore';

const strip = (rows: Record<string, unknown>[]) => rows.map(deterministicPart);

const newRun = (input: Record<string, unknown>) => newRunDir(input, 'fedlora-pool-');

describe('client worker pool', () => {
  it('training clients on 2 worker threads gives metrics identical to one thread (SOFT + penalty + tsfa)', async () => {
    const cfg = {
      name: 'pool', seed: 4, backend: 'wasm', data: { trainSamples: 600, testSamples: 200 }, train: { localSteps: 3 },
      federation: { numClients: 6, clientsPerRound: 3, rounds: 3 }, compression: { method: 'soft' }, soft: { lambda: 0.01 },
      channel: { bandwidthHz: 3e4 }, control: { method: 'tsfa', latencyBudgetS: 1.2 },
    };
    const one = newRun(cfg), two = newRun(cfg);
    await executeRun(one);
    await executeRun(two, { clientWorkers: 2 });
    expect(strip(readMetrics<Record<string, unknown>>(two).rows)).toEqual(strip(readMetrics<Record<string, unknown>>(one).rows));
    expect(readJson<Record<string, any>>(files(two).meta).execution).toEqual({ clientWorkers: 2 });
  });
});
