/**
 * The runs list: every run's row, kept current by pushed events (status changes replace a row,
 * rounds patch its progress and accuracy). Rows live in a shallowRef: no per-row watchers.
 */
import { defineStore } from 'pinia'
import { ref, shallowRef, triggerRef } from 'vue'
import type { ApiEvent, RunListItem } from '../../../contract/api'
import { api, errorText } from '../api'

export const useRunsStore = defineStore('runs', () => {
  const items = shallowRef<RunListItem[]>([])
  const loaded = ref(false)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let unsubscribe: (() => void) | null = null

  function indexOf(id: string): number {
    return items.value.findIndex((r) => r.id === id)
  }

  function upsert(item: RunListItem): void {
    const i = indexOf(item.id)
    if (i >= 0) items.value[i] = item
    else items.value.unshift(item)
    triggerRef(items)
  }

  function onEvent(e: ApiEvent): void {
    if (e.type === 'status') upsert(e.item)
    else if (e.type === 'deleted') {
      const i = indexOf(e.runId)
      if (i >= 0) {
        items.value.splice(i, 1)
        triggerRef(items)
      }
    } else if (e.type === 'round') {
      const i = indexOf(e.runId)
      if (i < 0) return
      const r = items.value[i]
      const m = e.metrics
      const acc = typeof m.testAcc === 'number' ? m.testAcc : null
      items.value[i] = {
        ...r,
        roundsDone: Math.max(r.roundsDone, m.round),
        rounds: e.totalRounds || r.rounds,
        totalUplinkBits: m.cumUplinkBits,
        finalAcc: acc ?? r.finalAcc,
        bestAcc: acc !== null ? Math.max(acc, r.bestAcc ?? -Infinity) : r.bestAcc
      }
      triggerRef(items)
    }
  }

  async function load(): Promise<void> {
    if (!unsubscribe) unsubscribe = api().subscribe(onEvent)
    loading.value = true
    try {
      items.value = await api().call('runs.list', undefined)
      error.value = null
      loaded.value = true
    } catch (e) {
      error.value = errorText(e)
    } finally {
      loading.value = false
    }
  }

  function byId(id: string): RunListItem | undefined {
    return items.value.find((r) => r.id === id)
  }

  async function act(kind: 'runs.start' | 'runs.stop' | 'runs.resume', id: string): Promise<RunListItem> {
    const item = await api().call(kind, { id })
    upsert(item)
    return item
  }

  async function duplicate(id: string, start: 'now' | 'no' = 'no'): Promise<RunListItem> {
    const item = await api().call('runs.duplicate', { id, start })
    upsert(item)
    return item
  }

  async function remove(id: string): Promise<void> {
    await api().call('runs.delete', { id })
    onEvent({ type: 'deleted', runId: id })
  }

  async function create(config: unknown, start: 'now' | 'no', tags?: string[]): Promise<RunListItem> {
    const item = await api().call('runs.create', { config, start, ...(tags?.length ? { tags } : {}) })
    upsert(item)
    return item
  }

  return { items, loaded, loading, error, load, byId, start: (id: string) => act('runs.start', id), stop: (id: string) => act('runs.stop', id), resume: (id: string) => act('runs.resume', id), duplicate, remove, create }
})
