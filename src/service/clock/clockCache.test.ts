import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/config';
import { resolveModel } from '../data/resources';
import { clockCacheStats, clockInputs } from './inputs';

describe('clockInputs cache (the form validates tsfa configs on every edit)', () => {
  it('reads the model and labels once per file version, and again after the file changes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-clock-'));
    const src = resolveModel('vit-fmnist-base', dir);
    const model = path.join(dir, 'model.safetensors');
    fs.copyFileSync(src, model);
    fs.copyFileSync(src.replace(/\.safetensors$/, '.json'), path.join(dir, 'model.json'));
    const cfg = parseConfig({ model: { name: 'model.safetensors' }, federation: { numClients: 7 } });
    const before = { ...clockCacheStats };
    const a = clockInputs(cfg, dir);
    const b = clockInputs(cfg, dir);
    expect(clockCacheStats.misses - before.misses).toBe(1);
    expect(clockCacheStats.hits - before.hits).toBe(1);
    expect(b).toEqual(a);
    expect(a.shardSizes).toHaveLength(7);
    // another partition of the same files is still a hit, with its own shard sizes
    const c = clockInputs(parseConfig({ model: { name: 'model.safetensors' }, federation: { numClients: 5 } }), dir);
    expect(c.shardSizes).toHaveLength(5);
    expect(clockCacheStats.hits - before.hits).toBe(2);
    // a changed model file (new modification time) is read again
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(model, t, t);
    clockInputs(cfg, dir);
    expect(clockCacheStats.misses - before.misses).toBe(2);
    // and a broken one is reported, not served from the cache
    fs.writeFileSync(model, 'not a safetensors file');
    expect(() => clockInputs(cfg, dir)).toThrow(/model/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
