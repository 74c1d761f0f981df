import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resourcesDir, resolveDataset, resolveModel } from '../src/service/data/resources';
import { RunManager } from '../src/service/manager';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('npm run dist (electron-builder installers)', () => {
  const proc = process as { resourcesPath?: string };
  afterEach(() => { delete proc.resourcesPath; });

  it('the builder config packs the built app and bundles configs/ and resources/ for every platform', () => {
    const b = pkg.build;
    expect(b.files).toEqual(expect.arrayContaining(['out/**', 'package.json']));
    expect(b.extraResources).toEqual(expect.arrayContaining([expect.objectContaining({ from: 'configs', to: 'configs' }), { from: 'resources', to: 'resources' }]));
    for (const { from } of b.extraResources) expect(fs.existsSync(path.join(root, from)), from).toBe(true);
    expect(b.linux.target).toEqual(['AppImage', 'deb']);
    expect(b.mac.target).toBe('dmg');
    expect(b.win.target).toBe('nsis');
    expect(pkg.main).toBe('./out/main/index.js');
  });

  it('a packaged app finds its shipped data, models and presets in Electron\'s resources folder', () => {
    const res = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-packaged-'));
    fs.cpSync(path.join(root, 'resources'), path.join(res, 'resources'), { recursive: true });
    fs.cpSync(path.join(root, 'configs'), path.join(res, 'configs'), { recursive: true });
    proc.resourcesPath = res;
    expect(resourcesDir()).toBe(path.join(res, 'resources'));
    expect(resolveModel('vit-fmnist-base', '/elsewhere')).toBe(path.join(res, 'resources/models/vit-fmnist-base.safetensors'));
    expect(fs.existsSync(resolveDataset('fashion-mnist', '/elsewhere'))).toBe(true);
    const m = new RunManager({ runsDir: path.join(res, 'runs') });
    expect(m.presets().map((p) => p.id)).toContain('quick');
    fs.rmSync(res, { recursive: true, force: true });
  });

  const hasBinary = fs.existsSync(path.join(root, 'node_modules', 'electron', 'dist'));
  it.skipIf(hasBinary)(`without an Electron binary it says so and exits non-zero, before building anything${hasBinary ? ' (SKIPPED: this machine has the binary)' : ''}`, () => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'dist.cjs')], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no Electron binary.*npm start/s);
  });
});
