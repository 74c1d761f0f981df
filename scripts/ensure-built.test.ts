import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const { staleReason } = createRequire(__filename)('./ensure-built.cjs') as { staleReason(root: string): string | null };

function tree(files: Record<string, number>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-build-'));
  for (const [f, t] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), 'x');
    fs.utimesSync(path.join(root, f), t, t);
  }
  return root;
}

const outputs = (t: number) => ({ 'out/main/index.js': t, 'out/preload/index.js': t, 'out/renderer/index.html': t });

describe('ensure-built (npm start and fedlora serve build out/ when needed)', () => {
  it('a fresh clone (no out/) needs a build, naming what is missing', () => {
    expect(staleReason(tree({ 'src/renderer/index.html': 1000, 'package.json': 1000 }))).toMatch(/out\/main\/index\.js is missing/);
  });

  it('a source newer than the oldest output needs a build; tests and older sources do not', () => {
    expect(staleReason(tree({ 'src/renderer/main.ts': 1000, 'src/engine/x.ts': 3000, ...outputs(2000) }))).toMatch(/sources changed/);
    expect(staleReason(tree({ 'src/renderer/main.ts': 1000, 'src/engine/x.test.ts': 3000, ...outputs(2000) }))).toBeNull();
    expect(staleReason(tree({ 'src/renderer/main.ts': 1000, 'package.json': 1500, ...outputs(2000) }))).toBeNull();
    expect(staleReason(tree({ 'src/renderer/main.ts': 1000, ...outputs(2000), 'out/preload/index.js': 500 }))).toMatch(/sources changed/);
    expect(staleReason(tree({ 'src/renderer/main.ts': 1000, ...outputs(2000), 'electron.vite.config.ts': 2500 }))).toMatch(/sources changed/);
  });

  it('a packaged app (no src/renderer) never builds', () => {
    expect(staleReason(tree({ 'package.json': 1000 }))).toBeNull();
  });
});
