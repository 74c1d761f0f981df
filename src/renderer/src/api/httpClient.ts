/**
 * ApiClient over the local server: commands as `POST /api/<command>` with the token header,
 * events over the WebSocket `/api/events`. The socket reconnects with backoff; after a reconnect
 * it catches up what it missed: rounds after the last one seen per run (`runs.metrics` since)
 * and status changes (`runs.list`), re-emitted as ordinary events.
 */
import { ApiError, type ApiClient, type ApiCommand, type ApiErrorCode, type ApiEvent, type ApiRequest, type ApiResponse, type RunStatus } from '../../../contract/api'

export interface HttpClientOptions {
  token: string
  /** Origin of the server, default the page's own. */
  origin?: string
  /** Reconnect delays grow from this (ms) up to maxDelayMs. */
  retryDelayMs?: number
  maxDelayMs?: number
}

export interface HttpApiClient extends ApiClient {
  /** 'open' | 'connecting' | 'closed' of the event socket, for a status indicator. */
  readonly connection: () => 'open' | 'connecting' | 'closed'
  onConnection(listener: (state: 'open' | 'connecting' | 'closed') => void): () => void
  close(): void
}

export function httpClient(opts: HttpClientOptions): HttpApiClient {
  const origin = opts.origin ?? window.location.origin
  const listeners = new Set<(e: ApiEvent) => void>()
  const connListeners = new Set<(s: 'open' | 'connecting' | 'closed') => void>()
  const lastRound = new Map<string, { round: number; totalRounds: number }>()
  const lastStatus = new Map<string, RunStatus>()
  let socket: WebSocket | null = null
  let state: 'open' | 'connecting' | 'closed' = 'closed'
  let delay = opts.retryDelayMs ?? 500
  let timer: ReturnType<typeof setTimeout> | null = null
  let everOpened = false
  let closed = false

  async function call<C extends ApiCommand>(command: C, request: ApiRequest<C>): Promise<ApiResponse<C>> {
    let res: Response
    try {
      res = await fetch(`${origin}/api/${command}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-fedlora-token': opts.token },
        body: JSON.stringify(request ?? {})
      })
    } catch (e) {
      throw new ApiError('internal', `cannot reach the server (${e instanceof Error ? e.message : String(e)})`)
    }
    let body: { ok: true; data: ApiResponse<C> } | { ok: false; error: { code: ApiErrorCode; message: string; issues?: { path: string; message: string }[] } }
    try {
      body = await res.json()
    } catch {
      throw new ApiError('internal', `server replied ${res.status} without JSON`)
    }
    if (body.ok) return body.data
    throw new ApiError(body.error?.code ?? 'internal', body.error?.message ?? `HTTP ${res.status}`, body.error?.issues)
  }

  function emit(e: ApiEvent): void {
    if (e.type === 'round') {
      const seen = lastRound.get(e.runId)
      if (seen && e.metrics.round <= seen.round) return
      lastRound.set(e.runId, { round: e.metrics.round, totalRounds: e.totalRounds })
    } else if (e.type === 'status') {
      lastStatus.set(e.runId, e.status)
    } else if (e.type === 'deleted') {
      lastRound.delete(e.runId)
      lastStatus.delete(e.runId)
    }
    for (const l of listeners) l(e)
  }

  function setState(s: typeof state): void {
    state = s
    for (const l of connListeners) l(s)
  }

  async function catchUp(): Promise<void> {
    try {
      const items = await call('runs.list', undefined)
      for (const item of items) {
        const before = lastStatus.get(item.id)
        const seen = lastRound.get(item.id)
        if (seen && item.roundsDone > seen.round) {
          const rows = await call('runs.metrics', { id: item.id, since: seen.round })
          for (const m of rows) emit({ type: 'round', runId: item.id, metrics: m, totalRounds: item.rounds })
        }
        if (before !== undefined && before !== item.status) emit({ type: 'status', runId: item.id, status: item.status, item })
      }
    } catch {
      /* the next reconnect tries again */
    }
  }

  function connect(): void {
    if (closed) return
    setState('connecting')
    const wsOrigin = origin.replace(/^http/, 'ws')
    const ws = new WebSocket(`${wsOrigin}/api/events?token=${encodeURIComponent(opts.token)}`)
    socket = ws
    ws.onopen = () => {
      delay = opts.retryDelayMs ?? 500
      setState('open')
      if (everOpened) void catchUp()
      everOpened = true
    }
    ws.onmessage = (msg) => {
      try {
        emit(JSON.parse(String(msg.data)) as ApiEvent)
      } catch {
        /* ignore a malformed message */
      }
    }
    ws.onclose = () => {
      socket = null
      if (closed) return setState('closed')
      setState('connecting')
      timer = setTimeout(connect, delay)
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 8000)
    }
    ws.onerror = () => ws.close()
  }

  return {
    transport: 'http',
    call,
    subscribe(listener) {
      listeners.add(listener)
      if (!socket && !timer && !closed) connect()
      return () => listeners.delete(listener)
    },
    connection: () => state,
    onConnection(listener) {
      connListeners.add(listener)
      return () => connListeners.delete(listener)
    },
    close() {
      closed = true
      if (timer) clearTimeout(timer)
      socket?.close()
    }
  }
}
