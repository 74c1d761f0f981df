import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flatten, getAt, pathProblem, setAt } from './paths';

describe('paths', () => {
  it('sets without mutating, creating parents', () => {
    const a = { lora: { rank: 8 } };
    const b = setAt(a, 'federation.partition.alpha', 0.1);
    expect(a).toEqual({ lora: { rank: 8 } });
    expect(getAt(b, 'federation.partition.alpha')).toBe(0.1);
    expect(getAt(b, 'lora.rank')).toBe(8);
    expect(getAt(b, 'lora.rank.x')).toBeUndefined();
  });

  it('removes a key with undefined and prunes emptied parents', () => {
    const a = { name: 'x', data: { trainSamples: 10 } };
    expect(setAt(a, 'data.trainSamples', undefined)).toEqual({ name: 'x' });
    expect(setAt({ a: { b: 1, c: 2 } }, 'a.b', undefined)).toEqual({ a: { c: 2 } });
  });

  it('flattens objects to leaf paths, arrays stay leaves', () => {
    expect(flatten({ a: 1, b: { c: [1, 2], d: {} }, e: null })).toEqual([
      ['a', 1],
      ['b.c', [1, 2]],
      ['b.d', {}],
      ['e', null],
    ]);
  });

  it('reads own properties only: inherited members are not config values', () => {
    expect(getAt({}, 'constructor')).toBeUndefined();
    expect(getAt({ a: {} }, 'a.toString')).toBeUndefined();
    expect(getAt({}, ['__proto__'])).toBeUndefined();
  });

  it('refuses prototype segments and leaves Object.prototype untouched (property test)', () => {
    const bad = fc.constantFrom('__proto__', 'constructor', 'prototype');
    const seg = fc.stringMatching(/^[a-z]{1,6}$/);
    const path = fc.tuple(fc.array(seg, { maxLength: 3 }), bad, fc.array(fc.oneof(seg, bad), { maxLength: 3 }))
      .map(([a, b, c]) => [...a, b, ...c].join('.'));
    fc.assert(fc.property(path, fc.jsonValue(), (p, v) => {
      expect(pathProblem(p)).toMatch(/__proto__, constructor or prototype/);
      expect(() => setAt({}, p, v)).toThrow(/not a config field/);
      expect(Object.keys(Object.prototype)).toEqual([]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }), { numRuns: 300 });
  });

  it('a key named __proto__ in a JSON object is an own key, set as data', () => {
    const o = JSON.parse('{"a": {"__proto__": {"x": 1}}}') as Record<string, unknown>;
    expect(getAt(o, ['a', '__proto__', 'x'])).toBe(1);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses empty, odd and overlong paths', () => {
    for (const p of ['', 'a..b', '.a', 'a.', 'a b', 'x'.repeat(201)]) expect(pathProblem(p)).not.toBeNull();
    expect(pathProblem('federation.partition.alpha')).toBeNull();
  });
});
