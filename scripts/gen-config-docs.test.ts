import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configMarkdown } from './gen-config-docs';

describe('docs/config.md', () => {
  it('is generated from the current schema (run `npx tsx scripts/gen-config-docs.ts` if this fails)', () => {
    const md = configMarkdown();
    expect(fs.readFileSync(path.join(__dirname, '..', 'docs', 'config.md'), 'utf8')).toBe(md);
    expect(md).toContain('| `lora.rank` |');
  });
});
