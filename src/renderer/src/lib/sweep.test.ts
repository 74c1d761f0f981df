import { describe, expect, it } from 'vitest'
import { formToSpec, specToForm, variedPaths } from './sweep'

describe('sweep form', () => {
  const form = {
    name: 'lr-grid',
    base: 'quick',
    fields: [
      { path: 'compression.method', values: 'none, soft' },
      { path: 'train.lr', values: '0.001, 0.003' },
      { path: 'federation.rounds', values: '2' },
      { path: '', values: 'ignored' }
    ],
    seeds: '0, 1'
  }

  it('varies fields with two or more values and sets the others for every run', () => {
    expect(formToSpec(form)).toEqual({
      name: 'lr-grid',
      base: 'quick',
      grid: { 'compression.method': ['none', 'soft'], 'train.lr': [0.001, 0.003], seed: [0, 1] },
      variants: [{ label: '', set: { 'federation.rounds': 2 } }]
    })
    expect(formToSpec({ ...form, fields: [], seeds: '3' })).toEqual({ name: 'lr-grid', base: 'quick', variants: [{ label: '', set: { seed: 3 } }] })
  })

  it('reads back a spec it wrote; refuses what it cannot show', () => {
    const back = specToForm(formToSpec(form))
    expect(back?.seeds).toBe('0, 1')
    expect(back && formToSpec(back)).toEqual(formToSpec(form))
    expect(specToForm({ name: 'x', base: { seed: 1 } })).toBeNull()
    expect(specToForm({ name: 'x', base: 'quick', variants: [{ label: 'a', set: {} }] })).toBeNull()
  })

  it('finds the config paths that differ between runs', () => {
    const a = { name: 'a', seed: 0, compression: { method: 'none', rho: 0.25 }, train: { lr: 0.1 } }
    const b = { name: 'b', seed: 1, compression: { method: 'soft', rho: 0.25 }, train: { lr: 0.1 } }
    expect(variedPaths([a, b])).toEqual(['compression.method', 'seed'])
    expect(variedPaths([a])).toEqual([])
  })
})
