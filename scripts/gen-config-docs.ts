/**
 * Writes docs/config.md from the config schema (the single source of truth for fields, defaults
 * and help). `npx tsx scripts/gen-config-docs.ts` ; a test fails when the file is stale.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configHelp } from '../src/engine/config';

type Node = { type?: string; description?: string; default?: unknown; enum?: unknown[]; properties?: Record<string, Node>; anyOf?: Node[]; oneOf?: Node[]; const?: unknown; unit?: string; minimum?: number; maximum?: number; exclusiveMinimum?: number };

function rows(node: Node, prefix: string, out: string[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const p = prefix ? `${prefix}.${key}` : key;
    const variants = child.oneOf ?? child.anyOf;
    if (child.properties) { rows(child, p, out); continue; }
    if (variants && variants.some((v) => v.properties)) {
      const methods = variants.map((v) => (v.properties?.method as Node | undefined)?.const).filter(Boolean);
      out.push(`| \`${p}\` | one of ${methods.map((m) => `\`{"method": "${m}"}\``).join(', ')} | \`${JSON.stringify(child.default)}\` | ${child.description ?? ''} |`);
      for (const v of variants) rows({ properties: Object.fromEntries(Object.entries(v.properties ?? {}).filter(([k]) => k !== 'method')) }, `${p}[${(v.properties?.method as Node).const}]`, out);
      continue;
    }
    const type = child.enum ? child.enum.map((e) => `\`${e}\``).join(' \\| ') : variants ? variants.map((v) => v.type ?? JSON.stringify(v.const)).join(' \\| ') : child.type ?? '';
    const range = [child.exclusiveMinimum !== undefined ? `> ${child.exclusiveMinimum}` : child.minimum !== undefined ? `>= ${child.minimum}` : '', child.maximum !== undefined && child.maximum < 1e15 ? `<= ${child.maximum}` : ''].filter(Boolean).join(', ');
    const desc = ((child.description ?? '') + (child.unit ? ` [${child.unit}]` : '')).replace(/\|/g, '\\|');
    out.push(`| \`${p}\` | ${type}${range ? ` (${range})` : ''} | \`${JSON.stringify(child.default)}\` | ${desc} |`);
  }
}

export function configMarkdown(): string {
  const out = ['# Config reference', '', 'Generated from the schema in `src/engine/config.ts` by `npx tsx scripts/gen-config-docs.ts`; do not edit by hand.',
    'Unknown keys are errors. Omitted fields take the default.', '', '| field | type | default | meaning |', '|---|---|---|---|'];
  rows(configHelp() as Node, '', out);
  return out.join('\n') + '\n';
}

if (require.main === module) {
  const file = path.join(__dirname, '..', 'docs', 'config.md');
  fs.writeFileSync(file, configMarkdown());
  process.stderr.write(`wrote ${file}\n`);
}
