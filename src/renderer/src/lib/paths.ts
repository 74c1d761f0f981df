/** Read and write plain JSON values by dotted path ("federation.partition.alpha"). */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export function getAt(obj: unknown, path: string): unknown {
  let v: unknown = obj
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[k]
  }
  return v
}

/** Returns a copy of obj with path set; `undefined` removes the key (and empty parents). */
export function setAt(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.')
  const out: Record<string, unknown> = { ...obj }
  let cur = out
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]
    const next = cur[k]
    cur[k] = next && typeof next === 'object' && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {}
    cur = cur[k] as Record<string, unknown>
  }
  const last = keys[keys.length - 1]
  if (value === undefined) delete cur[last]
  else cur[last] = value
  if (value === undefined) pruneEmpty(out, keys.slice(0, -1))
  return out
}

function pruneEmpty(root: Record<string, unknown>, keys: string[]): void {
  for (let n = keys.length; n > 0; n--) {
    const parent = n === 1 ? root : (getAt(root, keys.slice(0, n - 1).join('.')) as Record<string, unknown>)
    const child = parent?.[keys[n - 1]]
    if (child && typeof child === 'object' && !Array.isArray(child) && Object.keys(child).length === 0) delete parent[keys[n - 1]]
    else return
  }
}

/** Flatten an object into [path, value] leaves (arrays stay leaves), for config/meta tables. */
export function flatten(obj: unknown, prefix = ''): [string, unknown][] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return [[prefix, obj]]
  const out: [string, unknown][] = []
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const p = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) out.push(...flatten(v, p))
    else out.push([p, v])
  }
  return out
}
