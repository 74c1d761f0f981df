import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { executeRun } from './runner';
import { deterministicRows, newRunDir, tinyConfig } from './testFixtures';
import { CLI_NODE_ARGS } from './workers';

const root = path.resolve(__dirname, '../..');
const cli = (args: string[], crashAt?: string) => spawnSync(process.execPath, [...CLI_NODE_ARGS, ...args],
  { cwd: root, encoding: 'utf8', env: { ...process.env, FEDLORA_CRASH_AT: crashAt ?? '' } });

describe('SIGKILL at named points (FEDLORA_CRASH_AT) and resume', () => {
  it('killed between a checkpoint\'s checksum and its data, then mid-append of a metrics line: resumes to the metrics of an uninterrupted run, nothing left over', async () => {
    const cfg = tinyConfig({ federation: { numClients: 4, clientsPerRound: 2, rounds: 3 }, checkpoint: { every: 1, keep: 2 } });
    const ref = newRunDir(cfg, 'fedlora-crash-ref-');
    await executeRun(ref);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-crash-'));
    fs.writeFileSync(path.join(work, 'c.json'), JSON.stringify(cfg));
    const out = path.join(work, 'runs');

    const first = cli(['run', '--config', path.join(work, 'c.json'), '--out', out], 'checkpoint-after-sidecar:1');
    expect(first.signal).toBe('SIGKILL');
    const dir = path.join(out, fs.readdirSync(out)[0]);
    expect(fs.readdirSync(path.join(dir, 'checkpoints'))).toEqual(['round-000001.safetensors.sha256']); // checksum first, no checkpoint
    expect(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1);

    const second = cli(['resume', dir], 'metrics-torn:2');
    expect(second.signal).toBe('SIGKILL');
    expect(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').endsWith('\n')).toBe(false); // a torn line

    const third = cli(['resume', dir]);
    expect(third.status).toBe(0);
    expect(third.stderr).toMatch(/metrics.jsonl: ignored a torn last line/);
    expect(deterministicRows(dir)).toEqual(deterministicRows(ref));
    const left = [...fs.readdirSync(dir), ...fs.readdirSync(path.join(dir, 'checkpoints'))].filter((n) => n.endsWith('.tmp') || n.startsWith('run.lock'));
    expect(left).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['round-000002.safetensors', 'round-000002.safetensors.sha256', 'round-000003.safetensors', 'round-000003.safetensors.sha256']);
  });
});
