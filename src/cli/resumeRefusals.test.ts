import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newRunDir, tinyConfig } from '../service/testFixtures';
import { CLI_NODE_ARGS } from '../service/workers';

const root = path.resolve(__dirname, '../..');
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('fedlora resume: refusals', () => {
  it('refuses a symlinked run directory (exit 2, nothing written through the link)', () => {
    const dir = newRunDir(tinyConfig());
    const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-link-')), 'run');
    fs.symlinkSync(dir, link);
    const r = cli(['resume', link]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a symbolic link');
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'meta.json']);
  });

  it('a corrupt config.json: exit 2 naming the file and the problem, not the content', () => {
    const dir = newRunDir(tinyConfig());
    fs.writeFileSync(path.join(dir, 'config.json'), '{"name": "SECRET-VALUE", oops');
    const r = cli(['resume', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(dir, 'config.json')}: not valid JSON (`);
    expect(r.stderr).not.toContain('SECRET');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
