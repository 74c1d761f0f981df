import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

function cli(args: string[], cwd = root) {
  const r = spawnSync(tsx, [path.join(root, 'src/cli/main.ts'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, FEDLORA_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmpConfig(content: unknown): { file: string; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-cli-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return { file, out: path.join(dir, 'runs') };
}

describe('fedlora CLI: bad input', () => {
  it('exits 2 with one message per problem naming the JSON path, and writes nothing', () => {
    const { file, out } = tmpConfig({ lora: { rank: 0, targets: ['q', 'x'] }, bogus: 1 });
    const r = cli(['run', '--config', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('lora.rank: must be an integer >= 1, got 0');
    expect(r.stderr).toContain('lora.targets.1: must be one of q, k, v, o, fc1, fc2, got "x"');
    expect(r.stderr).toMatch(/unknown key\(s\) "bogus"/);
    expect(fs.existsSync(out)).toBe(false);
    expect(r.stdout).toBe('');
  });

  it('checks fields against each other once each field is valid', () => {
    const { file, out } = tmpConfig({ federation: { numClients: 4, clientsPerRound: 5 } });
    const r = cli(['run', '--config', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('federation.clientsPerRound: must be <= federation.numClients (4), got 5');
  });

  it('exits 2 for a missing dataset folder, relative to the config file', () => {
    const { file, out } = tmpConfig({ data: { dataset: 'no-such-folder' } });
    const r = cli(['run', '--config', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`data.dataset: no such folder ${path.join(path.dirname(file), 'no-such-folder')}`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('exits 2 for invalid JSON, a missing file, and a bad flag', () => {
    const { file, out } = tmpConfig('{"seed": 1,');
    expect(cli(['run', '--config', file, '--out', out]).stderr).toMatch(/c\.json: not valid JSON/);
    expect(cli(['run', '--config', '/nope.json']).code).toBe(2);
    const good = tmpConfig({});
    const r = cli(['run', '--config', good.file, '--rounds', 'ten']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rounds: must be an integer, got "ten"');
    expect(cli(['frobnicate']).code).toBe(2);
  });
});
