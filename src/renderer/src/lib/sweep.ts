/**
 * The Sweeps form as data: a base preset, config fields with their values and seeds <-> a spec in
 * the `fedlora sweep` format; and, from a sweep's resolved run configs, the fields that vary.
 */
import { flatten, getAt } from '../../../contract/paths'

export interface SweepFieldRow {
  /** A dotted config path, e.g. compression.method. */
  path: string
  /** Comma-separated values: two or more are varied (grid), one is set for every run. */
  values: string
}

export interface SweepForm {
  name: string
  base: string
  fields: SweepFieldRow[]
  /** Comma-separated seeds: two or more are varied. */
  seeds: string
}

export interface SweepSpecJson {
  name: string
  base: string | Record<string, unknown>
  grid?: Record<string, unknown[]>
  variants?: { label: string; set: Record<string, unknown> }[]
}

/** "0.25" -> 0.25, "true" -> true, "null" -> null, "soft" -> "soft" (JSON when it parses, text otherwise). */
export function parseValue(text: string): unknown {
  const t = text.trim()
  try {
    return JSON.parse(t)
  } catch {
    return t
  }
}

export function splitValues(text: string): unknown[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseValue)
}

export function formToSpec(f: SweepForm): SweepSpecJson {
  const grid: Record<string, unknown[]> = {}
  const set: Record<string, unknown> = {}
  for (const row of f.fields) {
    const path = row.path.trim()
    if (!path) continue
    const vs = splitValues(row.values)
    if (vs.length > 1) grid[path] = vs
    else if (vs.length === 1) set[path] = vs[0]
  }
  const seeds = splitValues(f.seeds)
  if (seeds.length > 1) grid.seed = seeds
  else if (seeds.length === 1) set.seed = seeds[0]
  return {
    name: f.name.trim(),
    base: f.base,
    ...(Object.keys(grid).length ? { grid } : {}),
    ...(Object.keys(set).length ? { variants: [{ label: '', set }] } : {})
  }
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))

/** The form for a spec the form can express (base a preset id, at most one unlabelled variant), else null. */
export function specToForm(spec: unknown): SweepForm | null {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return null
  const s = spec as Partial<SweepSpecJson>
  if (typeof s.name !== 'string' || typeof s.base !== 'string') return null
  const grid = s.grid ?? {}
  if (typeof grid !== 'object' || Array.isArray(grid) || Object.values(grid).some((v) => !Array.isArray(v))) return null
  const variants = s.variants ?? []
  if (!Array.isArray(variants) || variants.length > 1 || (variants[0] && (variants[0].label || typeof variants[0].set !== 'object'))) return null
  const set = variants[0]?.set ?? {}
  const fields: SweepFieldRow[] = []
  let seeds = ''
  for (const [path, vs] of Object.entries(grid)) {
    if (path === 'seed') seeds = vs.map(show).join(', ')
    else fields.push({ path, values: vs.map(show).join(', ') })
  }
  for (const [path, v] of Object.entries(set)) {
    if (path === 'seed') seeds = show(v)
    else fields.push({ path, values: show(v) })
  }
  return { name: s.name, base: s.base, fields, seeds }
}

/** Config paths whose values differ between the runs (name excepted), in path order. */
export function variedPaths(configs: readonly Record<string, unknown>[]): string[] {
  const seen = new Map<string, Set<string>>()
  for (const c of configs) {
    for (const [p, v] of flatten(c)) {
      if (p === 'name') continue
      const s = seen.get(p) ?? new Set<string>()
      s.add(JSON.stringify(v))
      seen.set(p, s)
    }
  }
  // a path missing from some configs differs too
  const n = configs.length
  return [...seen.entries()]
    .filter(([p, vs]) => vs.size > 1 || configs.filter((c) => getAt(c, p) !== undefined).length !== n)
    .map(([p]) => p)
    .sort()
}
