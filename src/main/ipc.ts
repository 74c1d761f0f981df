import { ipcMain, type WebContents } from 'electron'
import { API_COMMANDS, ApiError, EVENT_CHANNEL, type ApiErrorData, type ApiEvent, type ApiHandlers } from '../contract/api'

/** The channel that carries pushed `ApiEvent`s to the renderer (see src/contract/api.ts). */

type Reply = { ok: true; data: unknown } | { ok: false; error: ApiErrorData }

/**
 * Registers every command of the contract on `ipcMain.handle`, each answering `{ok:true,data}` or
 * `{ok:false,error}` (what `FedloraBridge.invoke` promises). Calls from frames other than the app's
 * own page are refused.
 */
export function registerApi(api: ApiHandlers, isTrustedSender: (url: string) => boolean): () => void {
  for (const command of API_COMMANDS) {
    ipcMain.handle(command, async (event, payload: unknown): Promise<Reply> => {
      const url = event.senderFrame?.url ?? ''
      if (!isTrustedSender(url)) {
        return { ok: false, error: { code: 'unauthorized', message: `refused ${command} from ${url || 'an unknown frame'}` } }
      }
      try {
        return { ok: true, data: await api.call(command, payload as never) }
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError('internal', e instanceof Error ? e.message : String(e))
        return { ok: false, error: err.toData() }
      }
    })
  }
  return () => {
    for (const command of API_COMMANDS) ipcMain.removeHandler(command)
  }
}

/** Pushes every event of the API to the given web contents (the app's windows). */
export function forwardEvents(api: ApiHandlers, targets: () => WebContents[]): () => void {
  return api.subscribe((e: ApiEvent) => {
    for (const wc of targets()) {
      if (!wc.isDestroyed()) wc.send(EVENT_CHANNEL, e)
    }
  })
}
