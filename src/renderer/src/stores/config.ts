/**
 * Presets and the config JSON Schema (both from the service, loaded once), validation, and
 * `system.info`, re-read when a run starts or ends (the backend a run with "auto" gets is known
 * only once one has run).
 */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { Preset, SystemInfo, ValidateResult } from '../../../contract/api'
import { api, errorText } from '../api'
import { sectionOf, type SectionSpec } from '../lib/schema'

export const useConfigStore = defineStore('config', () => {
  const presets = shallowRef<Preset[]>([])
  const schema = shallowRef<Record<string, unknown> | null>(null)
  const form = shallowRef<SectionSpec | null>(null)
  const system = shallowRef<SystemInfo | null>(null)
  const error = ref<string | null>(null)
  let loading: Promise<void> | null = null
  let unsubscribe: (() => void) | null = null
  let timer: ReturnType<typeof setTimeout> | null = null

  async function refreshSystem(): Promise<void> {
    try {
      system.value = await api().call('system.info', undefined)
    } catch {
      /* keep what we have */
    }
  }

  function load(): Promise<void> {
    if (!loading) {
      loading = (async () => {
        try {
          const [p, s, info] = await Promise.all([api().call('config.presets', undefined), api().call('config.schema', undefined), api().call('system.info', undefined)])
          presets.value = p
          schema.value = s
          form.value = sectionOf('', '', s)
          system.value = info
          error.value = null
          unsubscribe ??= api().subscribe((e) => {
            if (e.type !== 'status' || e.status === 'queued' || e.status === 'created') return
            if (!timer) timer = setTimeout(() => ((timer = null), void refreshSystem()), 300)
          })
        } catch (e) {
          error.value = errorText(e)
          loading = null
        }
      })()
    }
    return loading
  }

  function validate(config: unknown): Promise<ValidateResult> {
    return api().call('config.validate', { config })
  }

  return { presets, schema, form, system, error, load, validate, refreshSystem }
})
