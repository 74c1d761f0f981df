/**
 * The layers hold (engine <- service <- transports; the renderer talks to the contract only; the
 * engine's folders form a ladder):
 * dependency-cruiser with the rules of .dependency-cruiser.cjs finds no violation in src/, and finds
 * each injected upward import in a scratch tree, naming the rule and the import.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation { from: string; to: string; rule: { name: string } }

function cruise(cwd: string, tsConfig?: string): { violations: Violation[]; modules: number } {
  const args = [bin, 'src', '--config', path.join(root, '.dependency-cruiser.cjs'), '--output-type', 'json', ...(tsConfig ? ['--ts-config', tsConfig] : [])];
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const out = JSON.parse(r.stdout);
  return { violations: out.summary.violations, modules: out.modules.length };
}

describe('architecture: layer boundaries (dependency-cruiser)', () => {
  it('src/ has no import that runs up a layer', () => {
    const { violations, modules } = cruise(root);
    expect(modules).toBeGreaterThan(150);
    expect(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  });

  it('an injected upward import fails, naming the rule and the import', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-arch-'));
    const put = (f: string, text: string) => { fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true }); fs.writeFileSync(path.join(dir, f), text); };
    put('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', strict: true }, include: ['src'] }));
    put('src/server/z.ts', 'export const z = 1;\n');
    put('src/service/y.ts', "import { z } from '../server/z';\nexport const y = z;\n");
    put('src/engine/x.ts', "import { y } from '../service/y';\nexport const x = y;\n");
    put('src/contract/c.ts', "import { y } from '../service/y';\nexport const c = y;\n");
    put('src/renderer/src/a.ts', "import { x } from '../../engine/x';\nexport const a = x;\n");
    put('src/engine/fl/top.ts', 'export const top = 1;\n');
    put('src/engine/control/mid.ts', "import { top } from '../fl/top';\nexport const mid = top;\n");
    put('src/engine/rng.ts', "import { mid } from './control/mid';\nexport const rng = mid;\n");
    const found = cruise(dir, path.join(dir, 'tsconfig.json')).violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
    expect(found).toEqual([
      'contract-stands-alone: src/contract/c.ts -> src/service/y.ts',
      'engine-is-pure: src/engine/x.ts -> src/service/y.ts',
      'engine-ladder-base: src/engine/rng.ts -> src/engine/control/mid.ts',
      'engine-ladder-control: src/engine/control/mid.ts -> src/engine/fl/top.ts',
      'renderer-talks-to-the-contract: src/renderer/src/a.ts -> src/engine/x.ts',
      'service-below-transports: src/service/y.ts -> src/server/z.ts',
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
