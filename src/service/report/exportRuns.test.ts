import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../contract/api';
import { createApi } from '../api';
import { RunManager } from '../manager';
import { writeReportFixture } from './testFixture';

async function code(p: Promise<unknown>): Promise<string> {
  try { await p; } catch (e) { expect(e).toBeInstanceOf(ApiError); return (e as ApiError).code; }
  return 'ok';
}

describe('reports.export', () => {
  it('writes the report under <runsDir>/_reports, which the runs list never shows', async () => {
    // Prepare: three runs in a manager's folder; pdf gets a browser that is not there
    const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-reports-api-'));
    const fx = writeReportFixture(runsDir);
    const manager = new RunManager({ runsDir });
    const api = createApi(manager, { transport: 'http', reportBrowser: () => Promise.reject(new Error('no Chromium found: install it')) });

    // Execute
    const r = await api.call('reports.export', { ids: fx.map((f) => f.id), formats: ['html', 'csv', 'pdf'] });

    // Assert
    expect(path.dirname(r.dir)).toBe(path.join(runsDir, '_reports'));
    expect(path.basename(r.dir)).toMatch(/^\d{8}-\d{6}-compare-3-runs$/);
    expect(r.files).toContain(path.join(r.dir, 'report.html'));
    expect(r.files).toContain(path.join(r.dir, 'data', 'metrics-all.csv'));
    expect(r.errors).toEqual(['pdf: no Chromium found: install it']);
    for (const f of r.files) expect(fs.existsSync(f)).toBe(true);
    expect((await api.call('runs.list', undefined)).map((i) => i.id).sort()).toEqual(fx.map((f) => f.id).sort());
    expect(new RunManager({ runsDir }).list()).toHaveLength(3);
    const again = await api.call('reports.export', { ids: [fx[0].id] });
    expect(again.files.map((f) => path.basename(f))).toEqual(['report.html']);
    expect(again.dir).not.toBe(r.dir);
    fs.rmSync(runsDir, { recursive: true, force: true });
  });

  it('refuses bad requests with contract codes', async () => {
    const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-reports-api-'));
    const fx = writeReportFixture(runsDir);
    const api = createApi(new RunManager({ runsDir }), { transport: 'http' });
    const call = (req: unknown) => api.call('reports.export', req as never);
    expect(await code(call({ ids: [] }))).toBe('invalid-request');
    expect(await code(call({ ids: ['../etc'] }))).toBe('invalid-request');
    expect(await code(call({ ids: [fx[0].id, fx[0].id] }))).toBe('invalid-request');
    expect(await code(call({ ids: ['no-such-run'] }))).toBe('not-found');
    expect(await code(call({ ids: [fx[0].id], formats: ['docx'] }))).toBe('invalid-request');
    expect(await code(call({ ids: [fx[0].id], targetAcc: 80 }))).toBe('invalid-request');
    expect(await code(call(null))).toBe('invalid-request');
    expect(fs.existsSync(path.join(runsDir, '_reports'))).toBe(false);
    fs.rmSync(runsDir, { recursive: true, force: true });
  });
});
