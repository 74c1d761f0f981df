/**
 * Dotted paths into plain JSON values ("federation.partition.alpha"): the one implementation the
 * config errors, sweeps, reports and the app's form use. Only own properties are read and written,
 * and the segments `__proto__`, `constructor` and `prototype` are refused, so a path from a user
 * (a sweep grid key, a form field) can never reach or change Object.prototype.
 */

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const SEGMENT = /^[A-Za-z0-9_$-]+$/;

/** Why `dotted` cannot be used as a path (null when it can). */
export function pathProblem(dotted: unknown): string | null {
  if (typeof dotted !== 'string' || dotted === '') return 'must be a non-empty dotted path like "compression.rho"';
  if (dotted.length > 200) return 'must be at most 200 characters';
  for (const seg of dotted.split('.')) {
    if (FORBIDDEN.has(seg)) return `the segment "${seg}" is not a config field (paths may not name __proto__, constructor or prototype)`;
    if (!SEGMENT.test(seg)) return `segment ${JSON.stringify(seg.slice(0, 40))} must be letters, digits, _ or - (path like "compression.rho")`;
  }
  return null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value at a path (dotted string or segment list), or undefined; own properties only. */
export function getAt(obj: unknown, path: string | readonly PropertyKey[]): unknown {
  let v: unknown = obj;
  for (const k of typeof path === 'string' ? path.split('.') : path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/**
 * A copy of `obj` with `dotted` set to `value`, creating (or replacing non-object) parents;
 * `undefined` removes the key and prunes parents it leaves empty. Throws on a forbidden path.
 */
export function setAt(obj: Record<string, unknown>, dotted: string, value: unknown): Record<string, unknown> {
  const problem = pathProblem(dotted);
  if (problem) throw new Error(`${JSON.stringify(String(dotted).slice(0, 60))}: ${problem}`);
  const keys = dotted.split('.');
  const out: Record<string, unknown> = { ...obj };
  const chain: Record<string, unknown>[] = [out];
  let cur = out;
  for (const k of keys.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(cur, k) ? cur[k] : undefined;
    const child: Record<string, unknown> = isPlainObject(next) ? { ...next } : {};
    Object.defineProperty(cur, k, { value: child, enumerable: true, writable: true, configurable: true });
    cur = child;
    chain.push(cur);
  }
  const last = keys[keys.length - 1];
  if (value !== undefined) {
    Object.defineProperty(cur, last, { value, enumerable: true, writable: true, configurable: true });
    return out;
  }
  delete cur[last];
  for (let n = keys.length - 1; n > 0; n--) {
    if (Object.keys(chain[n]).length) break;
    delete chain[n - 1][keys[n - 1]];
  }
  return out;
}

/** Flatten an object into [path, value] leaves (arrays and empty objects stay leaves). */
export function flatten(obj: unknown, prefix = ''): [string, unknown][] {
  if (!isPlainObject(obj)) return [[prefix, obj]];
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && Object.keys(v).length) out.push(...flatten(v, p));
    else out.push([p, v]);
  }
  return out;
}
