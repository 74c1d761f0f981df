import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ApiEvent } from '../contract/api';
import { createApi } from '../service/api';
import { RunManager } from '../service/manager';
import { tinyConfig } from '../service/testFixtures';
import { startServer, type RunningServer } from './index';

interface Reply { status: number; body: string; json: any; headers: http.IncomingHttpHeaders }

function request(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try { json = JSON.parse(body); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body, json, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

let manager: RunManager;
let server: RunningServer;
let staticDir: string;
let secretFile: string;

beforeAll(async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-srv-'));
  manager = new RunManager({ runsDir: path.join(root, 'runs') });
  staticDir = path.join(root, 'renderer');
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  secretFile = path.join(root, 'secret.txt');
  fs.writeFileSync(secretFile, 'SECRET');
  fs.symlinkSync(secretFile, path.join(staticDir, 'assets', 'link.txt'));
  server = await startServer({ api: createApi(manager, { transport: 'http' }), host: '127.0.0.1', port: 0, staticDir });
});
afterAll(async () => {
  await server.close();
  await manager.shutdown(5_000);
});

const api = (command: string, body: unknown, headers: Record<string, string> = {}) => request(server.port, {
  method: 'POST', path: `/api/${command}`, body: body === undefined ? undefined : JSON.stringify(body),
  headers: { 'content-type': 'application/json', 'x-fedlora-token': server.token, ...headers },
});

describe('local server', () => {
  it('binds 127.0.0.1 only and prints a URL with the token', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
    await expect(startServer({ api: createApi(manager, { transport: 'http' }), host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/127\.0\.0\.1 only/);
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        const req = http.get({ host: external.address, port: server.port, path: '/' }, () => resolve(null));
        req.on('error', (e) => resolve(e));
        req.setTimeout(2_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      });
      expect(err?.code, `reachable on ${external.address}`).toMatch(/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH/);
    }
  });

  it('answers API calls with the token and refuses the rest with contract errors', async () => {
    const ok = await api('system.info', undefined);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ ok: true, data: { transport: 'http', maxConcurrent: 1 } });

    const noToken = await api('system.info', undefined, { 'x-fedlora-token': '' });
    expect([noToken.status, noToken.json.error.code]).toEqual([401, 'unauthorized']);
    expect((await api('system.info', undefined, { 'x-fedlora-token': server.token.slice(1) + 'x' })).status).toBe(401);
    expect((await api('runs.list', undefined, { host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await api('runs.list', undefined, { host: `127.0.0.1:${server.port + 1}` })).status).toBe(403);
    expect((await request(server.port, { path: '/', headers: { host: 'attacker.test' } })).status).toBe(403);
    expect((await api('runs.list', undefined, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await api('runs.list', undefined, { origin: `http://127.0.0.1:${server.port}` })).status).toBe(200);
    expect((await api('runs.get', { id: '../../etc/passwd' })).json.error.code).toBe('invalid-request');

    const huge = await api('config.validate', { config: { name: 'x'.repeat(2 << 20) } });
    expect([huge.status, huge.json.error.code]).toEqual([413, 'too-large']);
    const unknown = await api('runs.explode', {});
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'not-found']);
    expect((await api('runs.list', undefined, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await request(server.port, { path: '/api/runs.list', headers: { 'x-fedlora-token': server.token } })).status).toBe(405);
    const badJson = await request(server.port, { method: 'POST', path: '/api/runs.list', body: '{', headers: { 'content-type': 'application/json', 'x-fedlora-token': server.token } });
    expect([badJson.status, badJson.json.error.code]).toEqual([400, 'invalid-request']);
    const invalid = await api('runs.create', { config: tinyConfig({ lora: { rank: 0 } }) });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error).toMatchObject({ code: 'invalid-config', issues: [{ path: 'lora.rank' }] });
    expect((await api('runs.get', { id: 'nope' })).status).toBe(404);
  });

  it('serves the renderer without the token and nothing outside its folder', async () => {
    const index = await request(server.port, { path: '/?token=abc' });
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>app</title>');
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['referrer-policy']).toBe('no-referrer');
    expect((await request(server.port, { path: '/assets/app.js' })).headers['content-type']).toMatch(/javascript/);
    expect((await request(server.port, { path: '/runs/abc' })).body).toContain('<title>app</title>'); // client route
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt', '/assets/link.txt', `/${encodeURIComponent(secretFile)}`, '/%00', '/%E0%A4%A']) {
      const r = await request(server.port, { path: p });
      expect(r.body, p).not.toContain('SECRET');
      expect(r.status, p).toBe(404);
    }
  });

  it('answers a flood of 2000 concurrent calls (some 429) with bounded work and keeps answering', async () => {
    // the default limits but a slower bucket, so that a slow machine still floods it
    const flooded = await startServer({ api: createApi(manager, { transport: 'http' }), limits: { ratePerSecond: 50, burst: 100 } });
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const heapBefore = process.memoryUsage().heapUsed;
    const replies = await Promise.all(Array.from({ length: 2000 }, () => request(flooded.port, {
      method: 'POST', path: '/api/runs.list', agent, headers: { 'content-type': 'application/json', 'x-fedlora-token': flooded.token },
    })));
    agent.destroy();
    const counts = new Map<number, number>();
    for (const r of replies) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    expect(replies).toHaveLength(2000);
    expect([...counts.keys()].every((s) => s === 200 || s === 429 || s === 503), JSON.stringify([...counts])).toBe(true);
    expect(counts.get(200)).toBeGreaterThan(0);
    expect(counts.get(429)).toBeGreaterThan(0);
    expect(flooded.stats().maxInFlight).toBeLessThanOrEqual(32);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 2 ** 20);
    await new Promise((r) => setTimeout(r, 1_100)); // the bucket refills
    const after = await request(flooded.port, { method: 'POST', path: '/api/system.info', headers: { 'content-type': 'application/json', 'x-fedlora-token': flooded.token } });
    expect(after.status).toBe(200);
    await flooded.close();
  });

  it('streams a run\'s events over WebSocket to clients with the token only', async () => {
    const wsUrl = `ws://127.0.0.1:${server.port}/api/events`;
    const refused = async (url: string, headers: Record<string, string> = {}) => new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { resolve(101); ws.close(); });
      ws.on('error', () => resolve(-1));
    });
    expect(await refused(`${wsUrl}?token=wrong`)).toBe(401);
    expect(await refused(`${wsUrl}?token=${server.token}`, { origin: 'http://evil.example' })).toBe(403);

    const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(server.token)}`, { origin: `http://127.0.0.1:${server.port}` });
    const events: ApiEvent[] = [];
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
    const done = new Promise<void>((resolve) => ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as ApiEvent;
      events.push(e);
      if (e.type === 'status' && e.status === 'completed') resolve();
    }));
    const created = await api('runs.create', { config: tinyConfig(), start: 'now' });
    expect(created.json.data.status).toBe('running');
    await done;
    ws.close();
    const rounds = events.filter((e) => e.type === 'round' && e.runId === created.json.data.id);
    expect(rounds.map((e) => (e.type === 'round' ? e.metrics.round : 0))).toEqual([1, 2]);
    expect(events.some((e) => e.type === 'log')).toBe(true);
    const metrics = await api('runs.metrics', { id: created.json.data.id, since: 1 });
    expect(metrics.json.data.map((r: { round: number }) => r.round)).toEqual([2]);
  });
});
