/**
 * How the New run form is laid out: the essential fields first (what a researcher sets for almost
 * every run), then the config's sections, collapsible; the ones whose defaults usually do start
 * closed. Dataset and model have their own picker at the top and are not repeated in the sections.
 */
import type { FieldSpec, SectionSpec } from './schema'

/** In this order, in the Essentials box. */
export const ESSENTIAL_PATHS = [
  'name',
  'seed',
  'federation.rounds',
  'federation.numClients',
  'federation.clientsPerRound',
  'data.trainSamples',
  'data.testSamples',
  'lora.rank',
  'train.localEpochs',
  'train.localSteps',
  'compression.method',
  'compression.rho',
  'control.method',
  'control.latencyBudgetS'
]

/** Shown by the dataset/model picker. */
export const PICKER_PATHS = ['data.dataset', 'model.name']

/** Sections open when the form opens (the others open on a click, or by themselves when they hold a problem). */
export const OPEN_SECTIONS = new Set(['train', 'federation', 'compression'])

/** Every plain field of a section tree by its path. */
export function fieldsByPath(sec: SectionSpec, out = new Map<string, FieldSpec>()): Map<string, FieldSpec> {
  for (const f of sec.fields) out.set(f.path, f)
  for (const s of sec.sections) fieldsByPath(s, out)
  return out
}

/** Paths shown outside the sections (essentials and the picker). */
export const PLACED_ELSEWHERE = new Set([...ESSENTIAL_PATHS, ...PICKER_PATHS])
