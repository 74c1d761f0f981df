import { ipcMain, type IpcMainInvokeEvent } from 'electron'
import type { ApiCommand, ApiRequest, ApiResponse } from '../shared/api'

export type Handler<C extends ApiCommand> = (payload: ApiRequest<C>) => ApiResponse<C> | Promise<ApiResponse<C>>

/** Registers one command of the contract; calls from frames other than the app's own are refused. */
export function handle<C extends ApiCommand>(
  channel: C,
  isTrustedSender: (url: string) => boolean,
  handler: Handler<C>
): void {
  ipcMain.handle(channel, (event: IpcMainInvokeEvent, payload: ApiRequest<C>) => {
    const url = event.senderFrame?.url ?? ''
    if (!isTrustedSender(url)) throw new Error(`Refused ${channel} from ${url || 'unknown frame'}`)
    return handler(payload)
  })
}
