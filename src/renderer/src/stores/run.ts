/**
 * The run on screen: its detail (config, meta, log) and metrics, extended live by pushed round
 * events. Metrics sit in a shallowRef array, replaced on each round, never deep-watched.
 * meta.json changes without an event of its own: the worker writes `startedAt` and `backend` just
 * after the `running` status event, so while a running run's meta lacks them the store re-reads the
 * detail on its next log line or round (one request at a time); after a `running` status event
 * (a resume keeps the previous start in meta.json until the worker rewrites it) it also re-reads on
 * the next few log lines and the first round.
 */
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { ApiEvent, RoundMetrics, RunDetail, RunListItem } from '../../../contract/api'
import { api, errorText } from '../api'

const LOG_LINES = 200

export const useRunStore = defineStore('run', () => {
  const id = ref<string | null>(null)
  const detail = shallowRef<RunDetail | null>(null)
  const item = shallowRef<RunListItem | null>(null)
  const metrics = shallowRef<RoundMetrics[]>([])
  const log = shallowRef<string[]>([])
  const totalRounds = ref(0)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let unsubscribe: (() => void) | null = null
  /** Events that arrive while runs.get is in flight, applied after it. */
  let pending: ApiEvent[] | null = null

  function lastRound(): number {
    const m = metrics.value
    return m.length ? m[m.length - 1].round : 0
  }

  /** Re-reads of the detail still due after a run turned running (see apply). */
  let metaReads = 0

  /** A running run whose meta.json has not yet been seen with its start time and backend. */
  function metaIncomplete(): boolean {
    const m = detail.value?.meta
    return item.value?.status === 'running' && !!m && (m.startedAt === undefined || m.backend === undefined)
  }

  function apply(e: ApiEvent): void {
    if (e.runId !== id.value) return
    if (pending) {
      pending.push(e)
      return
    }
    if (e.type === 'log' || e.type === 'round') {
      // a resumed run's meta.json still has the previous start: re-read on its first lines and round too
      const resumed = metaReads > 0
      if (metaIncomplete() || resumed) {
        metaReads = e.type === 'round' ? 0 : Math.max(0, metaReads - 1)
        void refresh(e.runId)
      }
    }
    if (e.type === 'round') {
      if (e.metrics.round <= lastRound()) return
      // A new array each round: components that take it as a prop see the change (cheap at 1 round/s).
      metrics.value = [...metrics.value, e.metrics]
      totalRounds.value = e.totalRounds || totalRounds.value
      if (item.value) item.value = { ...item.value, roundsDone: e.metrics.round }
    } else if (e.type === 'status') {
      metaReads = e.item.status === 'running' ? 3 : 0
      item.value = e.item
      totalRounds.value = e.item.rounds || totalRounds.value
      // meta.json gains the backend, start and end times as the status changes.
      void refresh(e.runId)
    } else if (e.type === 'log') {
      log.value = [...log.value.slice(-(LOG_LINES - 1)), e.line]
    } else if (e.type === 'deleted') {
      error.value = 'This run was deleted.'
    }
  }

  async function open(runId: string): Promise<void> {
    if (!unsubscribe) unsubscribe = api().subscribe(apply)
    id.value = runId
    detail.value = null
    item.value = null
    metrics.value = []
    log.value = []
    error.value = null
    loading.value = true
    pending = []
    try {
      const d = await api().call('runs.get', { id: runId })
      if (id.value !== runId) return
      detail.value = d
      item.value = d.item
      metrics.value = [...d.metrics]
      log.value = d.log.slice(-LOG_LINES)
      totalRounds.value = d.item.rounds
    } catch (e) {
      if (id.value === runId) error.value = errorText(e)
    } finally {
      if (id.value === runId) {
        loading.value = false
        const queued = pending ?? []
        pending = null
        queued.forEach(apply)
      }
    }
  }

  let refreshing: Promise<void> | null = null
  let again = false

  /** Re-read config, meta and log; metrics only if the reply has more rounds than shown. One at a time (a call meanwhile runs once after). */
  function refresh(runId: string): Promise<void> {
    if (refreshing) {
      again = true
      return refreshing
    }
    refreshing = (async () => {
      try {
        const d = await api().call('runs.get', { id: runId })
        if (runId !== id.value || pending) return
        detail.value = d
        log.value = d.log.slice(-LOG_LINES)
        const lastNew = d.metrics.length ? d.metrics[d.metrics.length - 1].round : 0
        if (lastNew > lastRound()) metrics.value = [...d.metrics]
      } catch {
        /* the view keeps what it has */
      } finally {
        refreshing = null
        if (again) {
          again = false
          void refresh(runId)
        }
      }
    })()
    return refreshing
  }

  /** Fetch rounds missed (e.g. after the page was hidden); cheap when nothing is new. */
  async function catchUp(): Promise<void> {
    const runId = id.value
    if (!runId || pending) return
    const rows = await api().call('runs.metrics', { id: runId, since: lastRound() })
    if (runId !== id.value) return
    for (const m of rows) apply({ type: 'round', runId, metrics: m, totalRounds: totalRounds.value })
  }

  function close(): void {
    id.value = null
    pending = null
  }

  return { id, detail, item, metrics, log, totalRounds, loading, error, open, catchUp, close }
})
