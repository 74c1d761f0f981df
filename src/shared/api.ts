/**
 * The one contract between the UI and the app (IPC now; HTTP/WebSocket and CLI later).
 * Placeholder: only `system.info` exists until the full API lands here.
 * Only plain data crosses it.
 */

export const API_COMMANDS = ['system.info'] as const
export type ApiCommand = (typeof API_COMMANDS)[number]

export interface SystemInfo {
  appVersion: string
  node: string
  platform: string
}

/** Request and response type of every command, keyed by name. */
export interface ApiCommandTypes {
  'system.info': { request: void; response: SystemInfo }
}

export type ApiRequest<C extends ApiCommand> = ApiCommandTypes[C]['request']
export type ApiResponse<C extends ApiCommand> = ApiCommandTypes[C]['response']

export function isApiCommand(value: unknown): value is ApiCommand {
  return typeof value === 'string' && (API_COMMANDS as readonly string[]).includes(value)
}

/** What the preload exposes as `window.fedlora` (absent in server mode). */
export interface FedloraBridge {
  version: string
  invoke<C extends ApiCommand>(channel: C, payload?: ApiRequest<C>): Promise<ApiResponse<C>>
}
