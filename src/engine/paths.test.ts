import { describe, expect, it } from 'vitest'
import { flatten, getAt, setAt } from './paths'

describe('paths', () => {
  it('sets without mutating, creating parents', () => {
    const a = { lora: { rank: 8 } }
    const b = setAt(a, 'federation.partition.alpha', 0.1)
    expect(a).toEqual({ lora: { rank: 8 } })
    expect(getAt(b, 'federation.partition.alpha')).toBe(0.1)
    expect(getAt(b, 'lora.rank')).toBe(8)
    expect(getAt(b, 'lora.rank.x')).toBeUndefined()
  })

  it('removes a key with undefined and prunes emptied parents', () => {
    const a = { name: 'x', data: { trainSamples: 10 } }
    expect(setAt(a, 'data.trainSamples', undefined)).toEqual({ name: 'x' })
    expect(setAt({ a: { b: 1, c: 2 } }, 'a.b', undefined)).toEqual({ a: { c: 2 } })
  })

  it('flattens objects to leaf paths, arrays stay leaves', () => {
    expect(flatten({ a: 1, b: { c: [1, 2], d: {} }, e: null })).toEqual([
      ['a', 1],
      ['b.c', [1, 2]],
      ['b.d', {}],
      ['e', null]
    ])
  })
})
