/** Runs on the compare view: each one's detail and metrics, extended by pushed rounds. */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { ApiEvent, RunDetail } from '../../../contract/api'
import { api, errorText } from '../api'

export const MAX_COMPARE = 8

export const useCompareStore = defineStore('compare', () => {
  const runs = shallowRef<RunDetail[]>([])
  const errors = ref<Record<string, string>>({})
  const loading = ref(false)
  let unsubscribe: (() => void) | null = null
  let want: string[] = []

  function onEvent(e: ApiEvent): void {
    const i = runs.value.findIndex((r) => r.item.id === e.runId)
    if (i < 0) return
    const r = runs.value[i]
    let next: RunDetail | null = null
    if (e.type === 'round') {
      const last = r.metrics.length ? r.metrics[r.metrics.length - 1].round : 0
      if (e.metrics.round > last) next = { ...r, metrics: [...r.metrics, e.metrics], item: { ...r.item, roundsDone: e.metrics.round } }
    } else if (e.type === 'status') next = { ...r, item: e.item }
    if (next) {
      const copy = runs.value.slice()
      copy[i] = next
      runs.value = copy
    }
  }

  async function open(ids: string[]): Promise<void> {
    if (!unsubscribe) unsubscribe = api().subscribe(onEvent)
    want = ids.slice(0, MAX_COMPARE)
    const have = new Map(runs.value.map((r) => [r.item.id, r]))
    loading.value = true
    const errs: Record<string, string> = {}
    const got = await Promise.all(
      want.map(async (id) => {
        const cached = have.get(id)
        if (cached) return cached
        try {
          return await api().call('runs.get', { id })
        } catch (e) {
          errs[id] = errorText(e)
          return null
        }
      })
    )
    if (want.join() !== ids.slice(0, MAX_COMPARE).join()) return
    runs.value = got.filter((r): r is RunDetail => r !== null)
    errors.value = errs
    loading.value = false
  }

  return { runs, errors, loading, open }
})
