/**
 * Test helpers for the queue's end-to-end tests: CLI, worker and coordinator processes started with
 * node --require tsx/cjs (CLI_NODE_ARGS; one process each, so SIGKILL reaches it), their output collected as it comes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REDIS_SERVER } from './testRedis';
import { CLI_NODE_ARGS } from '../workers';

export const root = path.resolve(__dirname, '../../..');
const env = { ...process.env, FEDLORA_BACKEND: 'wasm' };
export const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-queue-'));

export interface Proc { child: ChildProcess; log(): string; exit: Promise<number | null> }

const spawnCli = (args: string[], extraEnv: Record<string, string>) =>
  spawn(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });

export function start(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const child = spawnCli(args, extraEnv);
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log: () => out, exit };
}

export const worker = (url: string, extraEnv: Record<string, string> = {}) => start(['worker', '--queue', url, '--stall-ms', '4000'], extraEnv);

/** Run the CLI to its end without blocking this process (the workers' output keeps flowing in). */
export function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, extraEnv);
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

export async function until(cond: () => boolean, what: string, ms = 240_000, context?: () => string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${context ? `\n${context().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const joined = (w: Proc) => until(() => / joined redis/.test(w.log()), 'a worker to join');
export const clientJobsDone = (logs: string[]) => logs.join('\n').split('\n').filter((l) => / done in \d+ ms/.test(l)).length;
export async function stopAll(ps: Proc[]): Promise<void> {
  for (const p of ps) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(ps.map((p) => p.exit));
}
export const lastLine = (s: string) => s.trim().split('\n').pop()!;

/** A lighter variant of the quick preset for the fault tests (a few seconds per round): fewer
 *  training samples, and 500 test samples so the coordinator's evaluation between rounds is short
 *  (the faults hit client jobs, which the test set does not change). */
export function smallConfig(): string {
  const dir = tmp();
  const file = path.join(dir, 'small.json');
  const quick = JSON.parse(fs.readFileSync(path.join(root, 'configs/quick.json'), 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...quick, name: 'small', seed: 5, data: { ...quick.data, trainSamples: 2400, testSamples: 500 }, federation: { ...quick.federation, rounds: 3 } }));
  return file;
}

export const why = REDIS_SERVER ? '' : ' (skipped: redis-server is not installed; apt-get install redis-server)';
