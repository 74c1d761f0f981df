import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsx.cmd' : 'tsx');

describe('npm run bench', () => {
  it('answers an unknown benchmark with usage listing every name and exit code 2', () => {
    const r = spawnSync(tsx, ['bench/main.ts', 'no-such-bench'], { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown benchmark "no-such-bench"');
    for (const name of ['step', 'compress', 'memory', 'ranking', 'soft-table']) expect(r.stderr).toContain(name);
  });

  it('prints usage with exit code 2 when no name is given', () => {
    const r = spawnSync(tsx, ['bench/main.ts'], { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: npm run bench -- <name>');
  });
});
