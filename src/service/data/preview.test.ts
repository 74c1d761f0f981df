import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../contract/api';
import { RunManager } from '../manager';

const manager = () => new RunManager({ runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-preview-')) });

describe('data preview', () => {
  it('shows the run\'s own partition: one histogram per client summing to its shard, and the first images', () => {
    const p = manager().preview({ data: { trainSamples: 3000 }, federation: { numClients: 6, clientsPerRound: 2, partition: { method: 'shards', classesPerClient: 2 } } });
    expect(p).toMatchObject({ format: 'idx', numClasses: 10, trainSamples: 3000 });
    expect(p.clientHistograms).toHaveLength(6);
    expect(p.clientHistograms.flat().reduce((a, b) => a + b, 0)).toBe(3000);
    // 2 shards of label-sorted data per client: each shard spans at most 2 classes, so at most 4 of 10
    for (const h of p.clientHistograms) expect(h.filter((n) => n > 0).length).toBeLessThanOrEqual(4);
    expect(p.samples).toHaveLength(8);
    const s = p.samples[0];
    expect('image' in s && s.image).toMatchObject({ width: 28, height: 28, channels: 1 });
    if ('image' in s) expect(s.image.pixels).toHaveLength(784);
  });

  it('text datasets preview their raw texts', () => {
    const p = manager().preview({ data: { dataset: 'wordnet-nouns' }, model: { name: 'text-wordnet-base' } });
    expect(p.format).toMatch(/csv|jsonl/);
    expect(p.samples.every((s) => 'text' in s && s.text.length > 0)).toBe(true);
    expect(p.classNames.length).toBe(p.numClasses);
  });

  it('a bad dataset path is a config error naming data.dataset', () => {
    let err: unknown;
    try { manager().preview({ data: { dataset: 'no/such/folder' } }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('invalid-config');
    expect((err as ApiError).issues?.[0].path).toBe('data.dataset');
  });
});
