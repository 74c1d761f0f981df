import { describe, expect, it } from 'vitest'
import { allPaths, parseFieldText, sectionOf, type FieldSpec } from './schema'

// The shapes z.toJSONSchema gives the engine's config (see src/engine/config.ts), in small.
const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', default: 'experiment', description: 'run name' },
    data: {
      type: 'object',
      default: {},
      properties: { trainSamples: { default: null, description: 'first N', anyOf: [{ type: 'integer', minimum: 1, maximum: 9007199254740991 }, { type: 'null' }] } }
    },
    lora: {
      type: 'object',
      properties: {
        rank: { default: 8, description: 'rank', anyOf: [{ type: 'integer', minimum: 1, maximum: 256 }, { type: 'string', const: 'auto' }] },
        targets: { type: 'array', default: ['q', 'v'], items: { type: 'string', enum: ['q', 'k', 'v'] } }
      }
    },
    compression: {
      type: 'object',
      properties: {
        valueBits: { default: 32, unit: 'bit', description: 'bits', anyOf: [{ type: 'number', const: 32 }, { type: 'number', const: 16 }] },
        errorFeedback: { type: 'boolean', default: true }
      }
    },
    federation: {
      type: 'object',
      properties: {
        partition: {
          description: 'split',
          default: { method: 'dirichlet' },
          oneOf: [
            { type: 'object', properties: { method: { type: 'string', const: 'iid' } } },
            { type: 'object', properties: { method: { type: 'string', const: 'dirichlet' }, alpha: { type: 'number', exclusiveMinimum: 0, default: 0.5 } } }
          ]
        }
      }
    }
  }
}

describe('config schema -> form', () => {
  const root = sectionOf('', '', schema)
  const byPath = (p: string): FieldSpec => {
    const all = [root, ...root.sections].flatMap((s) => [...s.fields, ...s.unions.flatMap((u) => u.variants.flatMap((v) => v.fields))])
    const f = all.find((x) => x.path === p)
    if (!f) throw new Error(`no field ${p}`)
    return f
  }

  it('nests sections and lists every leaf path', () => {
    expect(root.sections.map((s) => s.path)).toEqual(['data', 'lora', 'compression', 'federation'])
    expect(allPaths(root)).toEqual([
      'name',
      'data.trainSamples',
      'lora.rank',
      'lora.targets',
      'compression.valueBits',
      'compression.errorFeedback',
      'federation.partition',
      'federation.partition.method',
      'federation.partition.alpha'
    ])
  })

  it('reads kinds, nullability, constraints, units and alternatives', () => {
    expect(byPath('data.trainSamples')).toMatchObject({ kind: 'integer', nullable: true, constraint: 'integer >= 1', default: null })
    expect(byPath('lora.rank')).toMatchObject({ kind: 'integer', alternatives: ['auto'], constraint: 'integer >= 1 <= 256, or "auto"' })
    expect(byPath('lora.targets')).toMatchObject({ kind: 'multi', options: ['q', 'k', 'v'] })
    expect(byPath('compression.valueBits')).toMatchObject({ kind: 'enum', options: [32, 16], unit: 'bit' })
    expect(byPath('compression.errorFeedback').kind).toBe('boolean')
  })

  it('turns a tagged oneOf into a union with per-variant fields', () => {
    const u = root.sections[3].unions[0]
    expect(u).toMatchObject({ path: 'federation.partition', tag: 'method' })
    expect(u.variants.map((v) => [v.value, v.fields.map((f) => f.path)])).toEqual([
      ['iid', []],
      ['dirichlet', ['federation.partition.alpha']]
    ])
  })

  it('parses typed text: numbers become numbers, anything else stays text for the validator', () => {
    const rank = byPath('lora.rank')
    expect(parseFieldText(rank, '16')).toBe(16)
    expect(parseFieldText(rank, '1e2')).toBe(100)
    expect(parseFieldText(rank, 'auto')).toBe('auto')
    expect(parseFieldText(rank, '12abc')).toBe('12abc')
    expect(parseFieldText(byPath('data.trainSamples'), '  ')).toBeNull()
  })
})

describe('form layout', () => {
  it('finds every essential field in the engine-shaped schema by path', async () => {
    const { fieldsByPath } = await import('./formLayout')
    const root = sectionOf('', '', schema)
    const byPath = fieldsByPath(root)
    expect([...byPath.keys()]).toEqual(['name', 'data.trainSamples', 'lora.rank', 'lora.targets', 'compression.valueBits', 'compression.errorFeedback'])
    expect(byPath.get('lora.rank')?.alternatives).toEqual(['auto'])
  })
})
