import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRunDir, deterministicPart, readMetrics } from './runs/runStore';
import { validateRunConfig } from './validate';

/** Tiny run configs for tests: a few seconds of training on 2 cores. */
export function tinyConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny', seed: 7, backend: 'wasm',
    data: { trainSamples: 200, testSamples: 100 },
    federation: { numClients: 4, clientsPerRound: 2, rounds: 2 },
    train: { localSteps: 2 },
    ...over,
  };
}

/** Validate a config (relative to the repo) and create its run directory in a fresh temp folder. */
export function newRunDir(input: Record<string, unknown>, prefix = 'fedlora-run-'): string {
  const v = validateRunConfig(input, process.cwd());
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return createRunDir(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), v.config, {}, 2);
}

/** Metrics rows of a run without their wall-clock fields. */
export function deterministicRows(dir: string): Record<string, unknown>[] {
  return readMetrics<Record<string, unknown>>(dir).rows.map(deterministicPart);
}
