import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrainerState } from '../../engine/fl/federated';
import { discardCheckpointsAfter, findCheckpoint, listCheckpoints, saveCheckpoint } from './checkpoint';
import { injectWriteFault } from './fsutil';

function state(round: number): TrainerState {
  return {
    round, cumUplinkBits: round * 100, cumTime: round * 1.5, control: { queue: round, tails: {} },
    global: { 'head/w': { shape: [2, 2], data: new Float32Array([round, 1, 2, 3]) } },
    clientOpt: { 0: { step: round, m: { 'head/w': new Float32Array([0.5, round]) }, v: { 'head/w': new Float32Array([1, 2]) } } },
    clientResidual: {},
  };
}

const runDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-ck-'));
const ckDir = (dir: string) => path.join(dir, 'checkpoints');

describe('checkpoints', () => {
  it('a failure between a checkpoint\'s two writes never leaves a checkpoint without its checksum', () => {
    const dir = runDir();
    injectWriteFault((file) => { if (file.endsWith('.sha256')) throw Object.assign(new Error(`EIO: ${file}`), { code: 'EIO' }); });
    try {
      expect(() => saveCheckpoint(dir, state(1), {}, 2)).toThrow(/EIO/);
    } finally {
      injectWriteFault(null);
    }
    expect(listCheckpoints(dir)).toEqual([]); // the checksum goes first: no checkpoint without one
    expect(findCheckpoint(dir).checkpoint).toBeNull();
    // the other way round: a kill after the sidecar leaves a sidecar alone, removed by the next save
    fs.writeFileSync(path.join(ckDir(dir), 'round-000002.safetensors.sha256'), 'ab\n');
    saveCheckpoint(dir, state(1), {}, 2);
    expect(fs.readdirSync(ckDir(dir)).sort()).toEqual(['round-000001.safetensors', 'round-000001.safetensors.sha256']);
  });

  it('loading never throws for bad checkpoints: each is skipped with its reason, and with none left the answer is null', () => {
    const dir = runDir();
    for (const r of [1, 2, 3, 4]) saveCheckpoint(dir, state(r), {}, 10);
    const f = (r: number) => path.join(ckDir(dir), `round-00000${r}.safetensors`);
    fs.rmSync(f(4) + '.sha256'); // killed before its checksum (the old write order)
    const b = fs.readFileSync(f(3)); b[b.length - 1] ^= 1; fs.writeFileSync(f(3), b); // bit rot
    fs.writeFileSync(f(2), 'not a safetensors file'); // garbage with a matching checksum
    fs.writeFileSync(f(2) + '.sha256', require('node:crypto').createHash('sha256').update('not a safetensors file').digest('hex'));
    const found = findCheckpoint(dir);
    expect(found.checkpoint?.state.round).toBe(1);
    expect(found.checkpoint?.state.global['head/w'].data).toEqual(new Float32Array([1, 1, 2, 3]));
    expect(found.skipped.map((s) => path.basename(s.split(':')[0]))).toEqual(['round-000004.safetensors', 'round-000003.safetensors', 'round-000002.safetensors']);
    expect(found.skipped[0]).toMatch(/ENOENT/);
    expect(found.skipped[1]).toMatch(/checksum mismatch/);
    fs.rmSync(f(1) + '.sha256');
    expect(() => findCheckpoint(dir).checkpoint).not.toThrow();
    expect(findCheckpoint(dir).checkpoint).toBeNull();
    expect(findCheckpoint(dir).skipped).toHaveLength(4);
    expect(discardCheckpointsAfter(dir, 0)).toHaveLength(4);
    expect(fs.readdirSync(ckDir(dir))).toEqual([]);
  });

  it('keeps the last `keep` checkpoints with their sidecars', () => {
    const dir = runDir();
    for (const r of [1, 2, 3]) saveCheckpoint(dir, state(r), { r }, 2);
    expect(fs.readdirSync(ckDir(dir)).sort()).toEqual(['round-000002.safetensors', 'round-000002.safetensors.sha256', 'round-000003.safetensors', 'round-000003.safetensors.sha256']);
    expect(findCheckpoint(dir).checkpoint).toMatchObject({ extra: { r: 3 }, skipped: [] });
  });
});
