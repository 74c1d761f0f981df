import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { upgradeConfig, validateConfig } from '../engine/config';
import { loadRun } from './report/load';
import { RunManager } from './manager';
import { createRunDir, files } from './runs/runStore';
import { versions } from './versions';

/** A config.json as versions before the rename wrote it: control.latencyBudget (seconds, no unit in the name). */
const oldConfig = { name: 'old', control: { method: 'fixed', latencyBudget: 2.5 }, federation: { numClients: 4, clientsPerRound: 2, rounds: 2 } };

describe('renamed config fields (control.latencyBudget -> control.latencyBudgetS)', () => {
  it('the old name is read as the new one; the input is not changed; both names at once is an error naming the old one', () => {
    const copy = JSON.parse(JSON.stringify(oldConfig));
    const r = validateConfig(copy);
    expect(r.ok && r.config.control.latencyBudgetS).toBe(2.5);
    expect(copy).toEqual(oldConfig);
    expect(upgradeConfig({ control: { latencyBudgetS: 1 } })).toEqual({ control: { latencyBudgetS: 1 } });
    const both = validateConfig({ control: { latencyBudget: 1, latencyBudgetS: 2 } });
    expect(both.ok).toBe(false);
    if (!both.ok) expect(both.issues[0]).toMatchObject({ path: 'control', message: expect.stringContaining('"latencyBudget"') });
  });

  it('an old run directory lists, reads and reports with its budget under the new name', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-renamed-'));
    const v = validateConfig(oldConfig);
    if (!v.ok) throw new Error('fixture');
    const dir = createRunDir(runs, v.config, versions(), 1);
    fs.writeFileSync(files(dir).config, JSON.stringify(oldConfig)); // as an old version wrote it
    const m = new RunManager({ runsDir: runs });
    const id = path.basename(dir);
    expect(m.list()[0].latencyBudgetS).toBe(2.5);
    expect((m.get(id).config.control as Record<string, unknown>).latencyBudgetS).toBe(2.5);
    expect(loadRun(dir).config.control).toMatchObject({ latencyBudgetS: 2.5 });
    fs.rmSync(runs, { recursive: true, force: true });
  });
});
