/**
 * ApiClient over the Electron preload bridge (`window.fedlora`): unwraps `{ok,data}` into the
 * value and `{ok:false,error}` into a thrown ApiError carrying code and issues.
 */
import { ApiError, type ApiClient, type ApiEvent, type FedloraBridge } from '../../../contract/api'

export function ipcClient(bridge: FedloraBridge): ApiClient {
  return {
    transport: 'ipc',
    async call(command, request) {
      const reply = await bridge.invoke(command, request)
      if (reply.ok) return reply.data
      throw new ApiError(reply.error.code, reply.error.message, reply.error.issues)
    },
    subscribe(listener: (e: ApiEvent) => void) {
      return bridge.onEvent(listener)
    }
  }
}
