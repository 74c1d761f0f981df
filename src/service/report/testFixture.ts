/**
 * Hand-written run directories for report tests (no training): three runs over 10 rounds with
 * every metrics field a tsfa run logs. `soft-a` and `soft-b` differ only in seed and name (a seed
 * group); `svd-fixed` failed after 6 rounds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../engine/config';
import { summarize, type RunStatus } from '../runs/runStore';

export interface FixtureRun { dir: string; id: string; rows: Record<string, unknown>[] }

function rowsFor(seed: number, method: 'soft' | 'svd', rounds: number, budget: number | null): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  let cumBits = 0, cumTime = 0, queue = 0;
  for (let t = 1; t <= rounds; t++) {
    const j = (seed * 7 + t * 13) % 10; // deterministic wiggle 0..9
    const rho = method === 'soft' ? [0.25, 0.5, 0.375, 0.25][t % 4] : 0.25;
    const clientBits = [0, 1, 2].map((k) => Math.round(70752 * rho * 4) + 64 + k * 128);
    const uplinkBits = clientBits.reduce((a, b) => a + b, 0);
    const shares = method === 'soft' ? [0.2 + j / 100, 0.35, 0.45 - j / 100] : [1 / 3, 1 / 3, 1 / 3];
    const computeTime = 0.8 + j / 50, commTime = 0.15 + rho / 2;
    const roundTime = computeTime + commTime;
    cumBits += uplinkBits; cumTime += roundTime;
    if (budget !== null) queue = Math.max(queue + roundTime - budget, 0);
    rows.push({
      round: t, trainLoss: 2.2 * Math.exp(-t / 6) + j / 200, testAcc: t % 2 === 0 || t === rounds ? 0.3 + 0.05 * t + (seed % 3) / 100 : null,
      testLoss: t % 2 === 0 ? 1.9 - t / 10 : null, rho, queue, predictedError: method === 'soft' ? 0.4 - rho / 2 : null,
      roundTime, computeTime, commTime, uplinkBits, clientIds: [t % 5, (t + 1) % 5, (t + 3) % 5], clientBits,
      clientComputeTime: [0.7, computeTime, 0.75], gains: [1.2e-9, 3.4e-11 * (1 + j), 8.1e-12], shares, rates: [1.1e6, 4.2e5 + j, 2.3e5],
      cumUplinkBits: cumBits, cumTime, wallMs: 800 + j * 10, clientSamples: [120, 97, 140],
      orthResidual: 0.5 / t, sparsError: 0.3 - rho / 2 + j / 1000, covNorm: method === 'svd' ? null : 0.05 + j / 100,
      compressMs: method === 'soft' ? 0.4 + j / 100 : 12.5 + j / 10, clientFlops: method === 'soft' ? [6000, 6000, 6000] : [2.1e7, 2.1e7, 2.1e7],
      droppedClients: [],
    });
  }
  return rows;
}

function writeRun(root: string, id: string, over: Record<string, unknown>, rows: Record<string, unknown>[], status: RunStatus, error?: string): FixtureRun {
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true });
  const config = parseConfig(over);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({
    formatVersion: 1, runId: id, name: config.name, seed: config.seed, createdAt: '2026-01-02T10:00:00.000Z', startedAt: '2026-01-02T10:00:01.000Z', endedAt: '2026-01-02T10:03:00.000Z',
    versions: { app: '0.1.0', node: '20.20.2', tfjsCore: '4.22.0', v8: '11.3' }, host: { cores: 2, platform: 'linux', arch: 'x64', totalMemGiB: 24 },
    backend: { requested: 'auto', name: 'wasm', tfBackend: 'wasm', tfjsVersion: '4.22.0', skipped: [{ name: 'tfjs-node', reason: 'not installed' }] }, hostCores: 2,
  }, null, 2));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summarize(rows as never, status, 'wasm', error), null, 2));
  return { dir, id, rows };
}

export function writeReportFixture(root: string): FixtureRun[] {
  const base = { federation: { numClients: 5, clientsPerRound: 3, rounds: 10 }, channel: { bandwidthHz: 100000 } };
  const tsfa = { ...base, compression: { method: 'soft' }, control: { method: 'tsfa', latencyBudgetS: 1.3 } };
  return [
    writeRun(root, 'run-soft-a', { ...tsfa, name: 'soft-a', seed: 1 }, rowsFor(1, 'soft', 10, 1.3), 'completed'),
    writeRun(root, 'run-soft-b', { ...tsfa, name: 'soft-b', seed: 2 }, rowsFor(2, 'soft', 10, 1.3), 'completed'),
    writeRun(root, 'run-svd', { ...base, name: 'svd-fixed', seed: 1, compression: { method: 'svd' }, federation: { ...base.federation, rounds: 10 } },
      rowsFor(1, 'svd', 6, null), 'failed', 'out of memory in round 7'),
  ];
}
