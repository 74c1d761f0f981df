import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyConfig } from '../service/testFixtures';
import { CLI_NODE_ARGS } from '../service/workers';

const root = path.resolve(__dirname, '../..');

describe('fedlora serve', () => {
  it('prints a URL with the token, trains a run in a worker under plain node + tsx, and stops on SIGINT', async () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-serve-'));
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, 'serve', '--runs', runs, '--port', '0', '--no-build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.split('\n')[0]); });
        child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
      const { origin, searchParams } = new URL(url);
      const call = async (command: string, body: unknown): Promise<any> => (await fetch(`${origin}/api/${command}`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-fedlora-token': searchParams.get('token')! }, body: JSON.stringify(body),
      })).json();
      expect(await call('system.info', {})).toMatchObject({ ok: true, data: { runsDir: runs, transport: 'http' } });
      const created = await call('runs.create', { config: tinyConfig(), start: 'now' });
      expect(created.data.status).toBe('running');
      for (let i = 0; i < 200; i++) {
        const item = (await call('runs.list', {})).data[0];
        if (item.status !== 'running') { expect(item).toMatchObject({ status: 'completed', roundsDone: 2 }); break; }
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses bad options with exit code 2', () => {
    const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'serve', '--port', '70000'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port: must be an integer in 0..65535');
    const w = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'serve', '--client-workers', '0'], { cwd: root, encoding: 'utf8' });
    expect(w.status).toBe(2);
    expect(w.stderr).toContain('--client-workers: must be an integer in 1..64');
  });
});
