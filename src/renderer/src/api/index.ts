/**
 * The renderer's one door to the service. `createClient()` picks the transport at start (the
 * Electron bridge when the preload set `window.fedlora`, else HTTP + WebSocket to the page's own
 * server); stores use `api()` and never see which one.
 */
import { ApiError, type ApiClient } from '../../../contract/api'
import { httpClient } from './httpClient'
import { ipcClient } from './ipcClient'
import { readToken } from './token'

export { ApiError }

export function createClient(): ApiClient {
  if (window.fedlora) return ipcClient(window.fedlora)
  return httpClient({ token: readToken() })
}

let client: ApiClient | null = null

export function api(): ApiClient {
  if (!client) client = createClient()
  return client
}

/** For tests: use a given client. */
export function setClient(c: ApiClient): void {
  client = c
}

/** A message for the UI from anything thrown by a call. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message}${e.code !== 'internal' ? ` (${e.code})` : ''}`
  return e instanceof Error ? e.message : String(e)
}
