/**
 * The hostile suite against a real `fedlora serve` process on loopback: every case of the hostile
 * input issue that reaches the server (prototype segments, huge labels, non-regular files, heavy
 * configs, deep nesting, more clients than samples, one-class data, broken model specs, absurd
 * channels, corrupt and planted run folders, long names) must answer within 10 s with a 4xx naming
 * the field or file (or, where the input is in fact fine, a 200), while a poller keeps calling
 * `runs.list`: the server must keep answering throughout. The slowest `runs.list` is printed.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../engine/model/safetensors';
import type { VitSpec } from '../engine/model/types';
import { initVitWeights } from '../engine/model/vit';
import { Rng } from '../engine/rng';
import { tinyConfig } from '../service/testFixtures';
import { CLI_NODE_ARGS } from '../service/workers';

const root = path.resolve(__dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-hostile-serve-'));
const runsDir = path.join(work, 'runs');
const file = (rel: string, data: string | Uint8Array) => { const f = path.join(work, rel); fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, data); return f; };

let child: ReturnType<typeof spawn>;
let origin = '', token = '';
const listLatencies: number[] = [];
let polling = true;

async function call(command: string, body: unknown): Promise<{ status: number; body: any; ms: number }> {
  const t = performance.now();
  const res = await fetch(`${origin}/api/${command}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-fedlora-token': token },
    body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: await res.json(), ms: performance.now() - t };
}

beforeAll(async () => {
  child = spawn(process.execPath, [...CLI_NODE_ARGS, 'serve', '--runs', runsDir, '--port', '0', '--no-build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.split('\n')[0]); });
    child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  const u = new URL(url);
  origin = u.origin; token = u.searchParams.get('token')!;
  void (async () => {
    while (polling) {
      const r = await call('runs.list', {});
      expect(r.status).toBe(200);
      listLatencies.push(r.ms);
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
}, 60_000);

afterAll(() => {
  polling = false;
  child?.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

const vitSpec: VitSpec = { arch: 'vit', imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 1, heads: 2, mlpDim: 32, numClasses: 3 };
const model = (name: string, spec: Record<string, unknown>) => file(name, encodeSafetensors(initVitWeights(vitSpec, new Rng('w')), { 'fedlora.spec': JSON.stringify({ ...vitSpec, ...spec }) }));
const texts = (labels: (string | number)[]) => 'text,label\n' + labels.map((l, i) => `a ${['red', 'cat', 'blue', 'dog'][i % 4]} thing,${l}\n`).join('');
const deep = (n: number) => '{"config":' + '['.repeat(n) + ']'.repeat(n) + '}';
const fifo = (rel: string) => { const f = path.join(work, rel); execFileSync('mkfifo', [f]); return f; };

/**
 * A hostile request and what it must get: `ok` (the input is fine after all), or `refused`: a 4xx,
 * or from config.validate a 200 whose issues say it is invalid, naming `names`.
 */
interface Case { name: string; command: string; body: () => unknown; outcome: 'ok' | 'refused'; names?: RegExp }

const cases: Case[] = [
  { name: '1 __proto__ grid key', command: 'sweeps.create', body: () => ({ spec: { name: 'p', base: tinyConfig(), grid: { '__proto__.polluted': [1, 2] } } }), outcome: 'refused', names: /__proto__/ },
  { name: '1 constructor.prototype grid key', command: 'sweeps.create', body: () => ({ spec: { name: 'q', base: tinyConfig(), grid: { 'constructor.prototype.polluted': [1] } } }), outcome: 'refused', names: /constructor/ },
  { name: '1 ... and validation still works after them', command: 'config.validate', body: () => ({ config: tinyConfig() }), outcome: 'ok' },
  { name: '2 CSV labels 0 and 1e9 (fine: two classes)', command: 'config.validate', body: () => ({ config: { data: { dataset: file('big-labels.csv', texts([0, 1000000000, 0, 1000000000, 0, 1000000000, 0, 1000000000, 0, 1000000000])) }, model: { name: 'text-wordnet-base' }, federation: { numClients: 2, clientsPerRound: 1 } } }), outcome: 'ok' },
  { name: '3 /dev/zero as model.name', command: 'config.validate', body: () => ({ config: tinyConfig({ model: { name: '/dev/zero' } }) }), outcome: 'refused', names: /model\.name/ },
  { name: '3 a FIFO as model.name', command: 'runs.create', body: () => ({ config: tinyConfig({ model: { name: fifo('model.fifo') } }) }), outcome: 'refused', names: /model\.name/ },
  { name: '3 a FIFO as data.dataset', command: 'runs.create', body: () => ({ config: tinyConfig({ data: { dataset: fifo('data.fifo'), format: 'csv' } }) }), outcome: 'refused', names: /data\.dataset/ },
  { name: '4 tsfa rounds 1e6, offline.horizon 1e6', command: 'runs.create', body: () => ({ config: tinyConfig({ compression: { method: 'soft' }, control: { method: 'tsfa', latencyBudgetS: 5 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 1e6 }, offline: { horizon: 1e6 } }) }), outcome: 'refused', names: /offline\.horizon/ },
  { name: '5 config nested 10000 deep', command: 'config.validate', body: () => deep(10000), outcome: 'refused', names: /deeper than/ },
  { name: '6 tsfa with more clients than samples', command: 'runs.create', body: () => ({ config: tinyConfig({ data: { trainSamples: 10, testSamples: 10 }, compression: { method: 'soft' }, control: { method: 'tsfa', latencyBudgetS: 5 }, federation: { numClients: 50, clientsPerRound: 5, rounds: 2 } }) }), outcome: 'refused', names: /federation\.numClients/ },
  { name: '8 a one-class CSV', command: 'runs.create', body: () => ({ config: { data: { dataset: file('one.csv', texts(['a', 'a', 'a', 'a', 'a', 'a'])) }, model: { name: 'text-wordnet-base' }, federation: { numClients: 2, clientsPerRound: 1 } } }), outcome: 'refused', names: /data\.dataset/ },
  { name: '9 spec patchSize 0', command: 'runs.create', body: () => ({ config: tinyConfig({ model: { name: model('p0.safetensors', { patchSize: 0 }) } }) }), outcome: 'refused', names: /model\.name.*patchSize/s },
  { name: '9 spec depth 1e6', command: 'runs.create', body: () => ({ config: tinyConfig({ model: { name: model('deep.safetensors', { depth: 1e6 }) } }) }), outcome: 'refused', names: /depth/ },
  { name: '9 spec dim -64', command: 'runs.create', body: () => ({ config: tinyConfig({ model: { name: model('neg.safetensors', { dim: -64 }) } }) }), outcome: 'refused', names: /dim/ },
  { name: '10 bandwidthHz 1e-308', command: 'runs.create', body: () => ({ config: tinyConfig({ channel: { bandwidthHz: 1e-308 } }) }), outcome: 'refused', names: /channel\.bandwidthHz/ },
  { name: '13 a 100 KB run name', command: 'runs.create', body: () => ({ config: tinyConfig({ name: 'x'.repeat(100_000) }) }), outcome: 'refused', names: /\bname\b/ },
  { name: '13 a symlink planted in the runs folder', command: 'runs.start', body: () => { fs.symlinkSync(work, path.join(runsDir, 'planted')); return { id: 'planted' }; }, outcome: 'refused', names: /planted/ },
  { name: '13 a run with a corrupt config.json', command: 'runs.get', body: () => { const d = path.join(runsDir, 'broken'); fs.mkdirSync(d); fs.writeFileSync(path.join(d, 'config.json'), '{"secret": "do-not-echo", '); fs.writeFileSync(path.join(d, 'meta.json'), '{}'); return { id: 'broken' }; }, outcome: 'refused', names: /config\.json/ },
  { name: '13 ... start and duplicate of it', command: 'runs.duplicate', body: () => ({ id: 'broken' }), outcome: 'refused', names: /config\.json/ },
];

describe('fedlora serve under the hostile suite', () => {
  it('answers every case within 10 s with a 4xx naming the field or file, and keeps answering runs.list', async () => {
    const rows: string[] = [];
    for (const c of cases) {
      const r = await call(c.command, c.body());
      rows.push(`${c.name}: ${r.status} in ${r.ms.toFixed(0)} ms`);
      const text = JSON.stringify(r.body);
      expect(r.ms, c.name).toBeLessThan(10_000);
      expect(text).not.toContain('do-not-echo');
      const validated = c.command === 'config.validate' && r.status === 200;
      if (c.outcome === 'ok') {
        expect(r.status, `${c.name}: ${text.slice(0, 300)}`).toBe(200);
        if (validated) expect(r.body.data.ok, `${c.name}: ${text.slice(0, 300)}`).toBe(true);
      } else {
        expect(validated ? r.body.data.ok : r.status >= 400 && r.status < 500, `${c.name}: ${r.status} ${text.slice(0, 300)}`).toBe(validated ? false : true);
        expect(text, c.name).toMatch(c.names!);
      }
    }
    // nothing was polluted or left behind in the runs folder by the refused creates
    expect((await call('config.validate', { config: tinyConfig() })).body.data.ok).toBe(true);
    expect(fs.readdirSync(runsDir).sort()).toEqual(['broken', 'planted']);
    polling = false;
    await new Promise((r) => setTimeout(r, 100));
    const slowest = Math.max(...listLatencies);
    console.log(`hostile suite: ${cases.length} cases\n  ${rows.join('\n  ')}\n  runs.list answered ${listLatencies.length} times meanwhile, slowest ${slowest.toFixed(0)} ms`);
    expect(listLatencies.length).toBeGreaterThan(1);
    expect(slowest).toBeLessThan(5_000);
  }, 300_000);
});
