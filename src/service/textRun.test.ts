import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { executeRun } from './runner';
import { createRunDir, readMetrics } from './runs/runStore';
import { validateRunConfig } from './validate';

const root = path.resolve(__dirname, '../..');

describe('federated LoRA on the shipped text dataset', () => {
  it('configs/text-quick.json, shrunk to 2 rounds on 160 texts, runs end to end through the runner', async () => {
    const preset = JSON.parse(fs.readFileSync(path.join(root, 'configs/text-quick.json'), 'utf8'));
    const v = validateRunConfig({
      ...preset, backend: 'wasm',
      data: { ...preset.data, trainSamples: 160, testSamples: 64 },
      federation: { ...preset.federation, numClients: 4, clientsPerRound: 2, rounds: 2 },
      train: { ...preset.train, localEpochs: 1, localSteps: 2 },
      compression: { method: 'soft', rho: 0.5 }, soft: { lambda: 0.01 },
    }, path.join(root, 'configs'));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    const dir = createRunDir(fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-text-')), v.config, {}, 2);
    const s = await executeRun(dir);
    expect(s.status).toBe('completed');
    const rows = readMetrics<{ testAcc: number; uplinkBits: number; clientSamples: number[] }>(dir).rows;
    expect(rows.length).toBe(2);
    expect(rows[1].testAcc).toBeGreaterThanOrEqual(0);
    expect(rows[1].uplinkBits).toBeGreaterThan(0);
  });
});
