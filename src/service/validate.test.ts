import * as fc from 'fast-check';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../engine/config';
import { validateRunConfig } from './validate';

const root = path.resolve(__dirname, '../..');

/** Arbitrary JSON-like values, including the hostile ones (NaN, Infinity, -0, huge, deep). */
const hostile = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, -1, 0, 0.5, 2 ** 53, '', 'x', null, true, [], {}, 'valueOf', '__proto__', 'constructor', 'toString', 'auto'),
  fc.jsonValue({ maxDepth: 6 }),
);

const sections = ['name', 'seed', 'backend', 'data', 'model', 'lora', 'train', 'federation', 'compression', 'soft', 'channel', 'control', 'offline', 'checkpoint', 'eval'];
const fieldPaths = [
  ['lora', 'rank'], ['lora', 'alpha'], ['lora', 'targets'], ['train', 'lr'], ['train', 'batchSize'], ['train', 'mode'],
  ['federation', 'numClients'], ['federation', 'clientsPerRound'], ['federation', 'partition'], ['compression', 'rho'],
  ['compression', 'method'], ['compression', 'k'], ['soft', 'lambda'], ['data', 'dataset'], ['data', 'format'], ['model', 'name'], ['model', 'format'], ['seed'],
  ['channel', 'bandwidthHz'], ['channel', 'computeGflopsMax'], ['control', 'method'], ['control', 'latencyBudgetS'], ['offline', 'candidates'],
];

describe('config validation never crashes (property-based)', () => {
  it('any value at any field gives ok or per-field issues with a path, never an exception', () => {
    fc.assert(fc.property(fc.constantFrom(...fieldPaths), hostile, (p, value) => {
      const input: Record<string, unknown> = {};
      let o = input;
      for (const k of p.slice(0, -1)) { o[k] = {}; o = o[k] as Record<string, unknown>; }
      o[p[p.length - 1]] = value;
      const r = validateRunConfig(input, root);
      if (!r.ok) {
        expect(r.issues.length).toBeGreaterThan(0);
        for (const i of r.issues) { expect(typeof i.path).toBe('string'); expect(i.message.length).toBeGreaterThan(5); }
      } else {
        expect(() => configSchema.parse(r.config)).not.toThrow();
      }
    }), { numRuns: 400 });
  });

  it('whole random documents never crash it', () => {
    fc.assert(fc.property(fc.dictionary(fc.constantFrom(...sections, 'junk'), hostile), (doc) => {
      const r = validateRunConfig(doc, root);
      expect(typeof r.ok).toBe('boolean');
    }), { numRuns: 300 });
    for (const doc of [null, 42, 'x', [], [{}]]) expect(validateRunConfig(doc, root).ok).toBe(false);
  });

  it('rejects non-finite numbers with the field named', () => {
    for (const [p, v] of [['train.lr', Infinity], ['lora.alpha', NaN], ['compression.rho', -Infinity]] as const) {
      const [a, b] = p.split('.');
      const r = validateRunConfig({ [a]: { [b]: v } }, root);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues[0].path).toBe(p);
    }
  });

  it('a deeply nested document is rejected, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    const r = validateRunConfig({ data: deep }, root);
    expect(r.ok).toBe(false);
  });
});
