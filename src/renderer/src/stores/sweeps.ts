/**
 * Sweeps: the list (refreshed on run status events, at most twice a second), creating one, and the
 * resolved configs of a sweep's runs for its results (fetched once per run: a config never changes).
 */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { SweepInfo } from '../../../contract/api'
import { api, errorText } from '../api'
import { useRunsStore } from './runs'

/** Results read at most this many runs' configs (the table still lists every run). */
export const MAX_RESULT_RUNS = 200

export const useSweepsStore = defineStore('sweeps', () => {
  const list = shallowRef<SweepInfo[]>([])
  const error = ref<string | null>(null)
  const configs = shallowRef<Map<string, Record<string, unknown>>>(new Map())
  let unsubscribe: (() => void) | null = null
  let timer: ReturnType<typeof setTimeout> | null = null

  async function refresh(): Promise<void> {
    try {
      list.value = await api().call('sweeps.list', undefined)
      error.value = null
    } catch (e) {
      error.value = errorText(e)
    }
  }

  function start(): void {
    const runs = useRunsStore()
    if (!runs.loaded) void runs.load()
    void refresh()
    // status changes of any run may move a sweep's counts
    unsubscribe ??= api().subscribe((e) => {
      if (e.type !== 'status' && e.type !== 'deleted') return
      if (!timer) timer = setTimeout(() => ((timer = null), void refresh()), 500)
    })
  }

  function stop(): void {
    unsubscribe?.()
    unsubscribe = null
    if (timer) clearTimeout(timer)
    timer = null
  }

  async function create(spec: unknown, start: 'now' | 'no'): Promise<SweepInfo> {
    const s = await api().call('sweeps.create', { spec, start })
    await refresh()
    return s
  }

  /** Fetch the configs of these runs not yet known (8 at a time). */
  async function loadConfigs(ids: string[]): Promise<void> {
    const missing = ids.slice(0, MAX_RESULT_RUNS).filter((id) => !configs.value.has(id))
    for (let i = 0; i < missing.length; i += 8) {
      const got = await Promise.all(missing.slice(i, i + 8).map((id) => api().call('runs.get', { id }).then((d) => [id, d.config] as const, () => null)))
      const next = new Map(configs.value)
      for (const g of got) if (g) next.set(g[0], g[1])
      configs.value = next
    }
  }

  return { list, error, configs, start, stop, refresh, create, loadConfigs }
})
