/**
 * Turns the config's JSON Schema (from `config.schema`, generated from the engine's zod schema)
 * into form fields and sections. Only what that schema uses is understood: objects with
 * properties, enums/consts, integer/number/string/boolean, nullable (anyOf with null), arrays of
 * enums, and discriminated unions (oneOf of objects with a `const` tag), e.g. federation.partition.
 */

type S = Record<string, unknown>

export type FieldKind = 'enum' | 'integer' | 'number' | 'string' | 'boolean' | 'multi' | 'json'

export interface FieldSpec {
  path: string
  key: string
  kind: FieldKind
  description: string
  unit?: string
  default?: unknown
  nullable: boolean
  options?: (string | number)[]
  min?: number
  max?: number
  /** e.g. "integer >= 1" */
  constraint: string
  /** Constant alternatives beside the main type, e.g. "auto" for lora.rank. */
  alternatives?: (string | number)[]
}

export interface UnionSpec {
  path: string
  key: string
  description: string
  default?: unknown
  /** The discriminator key ("method"). */
  tag: string
  variants: { value: string; fields: FieldSpec[] }[]
}

export interface SectionSpec {
  path: string
  key: string
  description: string
  fields: FieldSpec[]
  unions: UnionSpec[]
  sections: SectionSpec[]
}

function constraintOf(s: S, kind: FieldKind): string {
  const parts: string[] = []
  if (typeof s.minimum === 'number') parts.push(`>= ${s.minimum}`)
  if (typeof s.exclusiveMinimum === 'number') parts.push(`> ${s.exclusiveMinimum}`)
  if (typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER) parts.push(`<= ${s.maximum}`)
  if (typeof s.exclusiveMaximum === 'number') parts.push(`< ${s.exclusiveMaximum}`)
  return [kind === 'integer' ? 'integer' : kind === 'number' ? 'number' : '', ...parts].filter(Boolean).join(' ')
}

export function fieldOf(path: string, key: string, raw: S): FieldSpec {
  let s = raw
  let nullable = false
  const base = { path, key, description: String(raw.description ?? ''), unit: raw.unit as string | undefined, default: raw.default }
  const any = (raw.anyOf ?? raw.oneOf) as S[] | undefined
  if (any) {
    const nonNull = any.filter((a) => a.type !== 'null')
    nullable = nonNull.length < any.length
    if (nonNull.length > 1 && nonNull.every((a) => 'const' in a)) {
      return { ...base, kind: 'enum', nullable, options: nonNull.map((a) => a.const as string | number), constraint: '' }
    }
    s = nonNull.find((a) => !('const' in a)) ?? nonNull[0] ?? {}
    const alts = nonNull.filter((a) => a !== s && 'const' in a).map((a) => a.const as string | number)
    if (alts.length) {
      const f = fieldOf(path, key, { ...s, description: raw.description, unit: raw.unit, default: raw.default })
      return { ...f, nullable: nullable || f.nullable, alternatives: alts, constraint: `${f.constraint}, or ${alts.map((a) => JSON.stringify(a)).join(', ')}` }
    }
  }
  if (Array.isArray(s.enum)) return { ...base, kind: 'enum', nullable, options: s.enum as string[], constraint: '' }
  if ('const' in s) return { ...base, kind: 'enum', nullable, options: [s.const as string], constraint: '' }
  if (s.type === 'array') {
    const items = (s.items ?? {}) as S
    if (Array.isArray(items.enum)) return { ...base, kind: 'multi', nullable, options: items.enum as string[], constraint: '' }
    return { ...base, kind: 'json', nullable, constraint: 'JSON array' }
  }
  const kind: FieldKind = s.type === 'integer' ? 'integer' : s.type === 'number' ? 'number' : s.type === 'boolean' ? 'boolean' : s.type === 'string' ? 'string' : 'json'
  return {
    ...base,
    kind,
    nullable,
    min: (s.minimum ?? s.exclusiveMinimum) as number | undefined,
    max: (s.maximum ?? s.exclusiveMaximum) as number | undefined,
    constraint: constraintOf(s, kind)
  }
}

function unionOf(path: string, key: string, s: S): UnionSpec | null {
  const variants = (s.oneOf ?? s.anyOf) as S[] | undefined
  if (!variants?.length || !variants.every((v) => v.type === 'object' && v.properties)) return null
  const props0 = variants[0].properties as Record<string, S>
  const tag = Object.keys(props0).find((k) => variants.every((v) => 'const' in ((v.properties as Record<string, S>)[k] ?? {})))
  if (!tag) return null
  return {
    path,
    key,
    description: String(s.description ?? ''),
    default: s.default,
    tag,
    variants: variants.map((v) => {
      const props = v.properties as Record<string, S>
      return {
        value: String(props[tag].const),
        fields: Object.entries(props)
          .filter(([k]) => k !== tag)
          .map(([k, p]) => fieldOf(`${path}.${k}`, k, p))
      }
    })
  }
}

export function sectionOf(path: string, key: string, s: S): SectionSpec {
  const sec: SectionSpec = { path, key, description: String(s.description ?? ''), fields: [], unions: [], sections: [] }
  for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, S>)) {
    const childPath = path ? `${path}.${k}` : k
    if (p.type === 'object' && p.properties) sec.sections.push(sectionOf(childPath, k, p))
    else {
      const u = p.oneOf || p.anyOf ? unionOf(childPath, k, p) : null
      if (u) sec.unions.push(u)
      else sec.fields.push(fieldOf(childPath, k, p))
    }
  }
  return sec
}

/** Every leaf path the form can show (for tests and for placing issues). */
export function allPaths(sec: SectionSpec): string[] {
  return [
    ...sec.fields.map((f) => f.path),
    ...sec.unions.flatMap((u) => [u.path, `${u.path}.${u.tag}`, ...u.variants.flatMap((v) => v.fields.map((f) => f.path))]),
    ...sec.sections.flatMap(allPaths)
  ]
}

/** Text typed into a field -> the JSON value sent for validation (kept as text if not a number). */
export function parseFieldText(f: FieldSpec, text: string): unknown {
  const t = text.trim()
  if (t === '') return f.nullable ? null : undefined
  if (f.kind === 'integer' || f.kind === 'number') {
    const n = Number(t)
    return Number.isFinite(n) && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t) ? n : t
  }
  if (f.kind === 'json') {
    try {
      return JSON.parse(t)
    } catch {
      return t
    }
  }
  return text
}
