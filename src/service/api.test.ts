import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError, type ApiCommand } from '../contract/api';
import { createApi } from './api';
import { RunManager } from './manager';
import { tinyConfig } from './testFixtures';

function setup() {
  const manager = new RunManager({ runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-api-')) });
  return { manager, api: createApi(manager, { transport: 'http' }) };
}

async function code(p: Promise<unknown>): Promise<string> {
  try { await p; } catch (e) { expect(e).toBeInstanceOf(ApiError); return (e as ApiError).code; }
  return 'ok';
}

describe('createApi', () => {
  it('answers system, config and run commands with contract data', async () => {
    const { api, manager } = setup();
    const info = await api.call('system.info', undefined);
    expect(info).toMatchObject({ transport: 'http', maxConcurrent: 1, runsDir: manager.runsDir, backend: null });
    expect(info.versions).toHaveProperty('tfjsCore');
    // the WebGPU adapter, or why there is none (this process has no Vulkan driver set up unless the environment gives one)
    expect(info.gpu.adapter !== null || /no WebGPU adapter|webgpu/.test(info.gpu.reason ?? '')).toBe(true);
    const schema = await api.call('config.schema', undefined);
    expect(schema).toHaveProperty('properties.lora');
    expect((await api.call('config.presets', undefined)).map((p) => p.id)).toContain('quick');
    const v = await api.call('config.validate', { config: tinyConfig({ lora: { rank: -1 } }) });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.issues[0].path).toBe('lora.rank');
    const item = await api.call('runs.create', { config: tinyConfig(), tags: ['t'] });
    const control = (await api.call('runs.get', { id: item.id })).config.control as { method?: string } | undefined;
    expect(item).toMatchObject({ status: 'created', method: 'none', rank: 8, controller: control?.method ?? null, latencyBudgetS: null, tags: ['t'] });
    expect((await api.call('runs.list', undefined)).map((r) => r.id)).toEqual([item.id]);
    expect((await api.call('runs.get', { id: item.id })).config).toHaveProperty('seed', 7);
    expect(await api.call('runs.metrics', { id: item.id, since: 0 })).toEqual([]);
    expect(await api.call('runs.delete', { id: item.id })).toEqual({ id: item.id });
  });

  it('refuses malformed requests with invalid-request and maps errors to codes', async () => {
    const { api } = setup();
    const call = (c: string, r: unknown) => api.call(c as ApiCommand, r as never);
    expect(await code(call('runs.get', undefined))).toBe('invalid-request');
    expect(await code(call('runs.get', { id: 5 }))).toBe('invalid-request');
    expect(await code(call('runs.get', { id: '../../etc' }))).toBe('invalid-request');
    expect(await code(call('runs.get', [1]))).toBe('invalid-request');
    expect(await code(call('runs.list', 'x'))).toBe('invalid-request');
    expect(await code(call('runs.metrics', { id: 'abc', since: -1 }))).toBe('invalid-request');
    expect(await code(call('runs.create', {}))).toBe('invalid-request');
    expect(await code(call('runs.create', { config: tinyConfig(), start: 'later' }))).toBe('invalid-request');
    expect(await code(call('runs.create', { config: { federation: { rounds: 'x' } } }))).toBe('invalid-config');
    expect(await code(call('runs.get', { id: 'missing' }))).toBe('not-found');
    expect(await code(call('runs.stop', { id: 'missing' }))).toBe('not-found');
    expect(await code(call('no.such', {}))).toBe('not-found');
    try {
      await call('runs.create', { config: tinyConfig({ federation: { numClients: 2, clientsPerRound: 3 } }) });
    } catch (e) {
      expect((e as ApiError).toData()).toMatchObject({ code: 'invalid-config', issues: [{ path: 'federation.clientsPerRound' }] });
    }
  });
});
