import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VIT_TINY_28 } from '../../engine/model/vit';
import { loadModelFile } from './models';
import { resolveModel } from './resources';
import { validateRunConfig } from '../validate';

describe('generated shipped models (vit-tiny-random: too large for the repository)', () => {
  const saved = process.env.FEDLORA_CACHE;
  afterEach(() => { if (saved === undefined) delete process.env.FEDLORA_CACHE; else process.env.FEDLORA_CACHE = saved; });

  it('is made once from its seed into the cache, identical on every machine, and validates by name (configs/gpu.json)', () => {
    const a = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-cache-')), b = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-cache-'));
    process.env.FEDLORA_CACHE = a;
    const file = resolveModel('vit-tiny-random', '/anywhere');
    expect(path.dirname(file)).toBe(a);
    const t0 = fs.statSync(file).mtimeMs;
    expect(resolveModel('vit-tiny-random', '/anywhere')).toBe(file);
    expect(fs.statSync(file).mtimeMs).toBe(t0); // not rewritten
    process.env.FEDLORA_CACHE = b;
    expect(fs.readFileSync(resolveModel('vit-tiny-random', '/x')).equals(fs.readFileSync(file))).toBe(true);
    const m = loadModelFile(file);
    expect(m.spec).toEqual(VIT_TINY_28);
    expect(Object.values(m.weights).reduce((n, w) => n + w.data.length, 0)).toBeGreaterThan(5e6);
    const v = validateRunConfig(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../configs/gpu.json'), 'utf8')), path.resolve(__dirname, '../../../configs'));
    expect(v.ok && v.config.model.name).toBe('vit-tiny-random');
    for (const d of [a, b]) fs.rmSync(d, { recursive: true, force: true });
  });
});
