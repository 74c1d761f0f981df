import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { version } from '../../package.json'
import { isApiCommand, type ApiEvent, type FedloraBridge } from '../shared/api'

/** Same name as EVENT_CHANNEL in src/main/ipc.ts (the sandboxed preload cannot import main code). */
const EVENT_CHANNEL = 'api.event'

const bridge: FedloraBridge = {
  version,
  invoke(channel, payload) {
    if (!isApiCommand(channel)) {
      return Promise.resolve({ ok: false, error: { code: 'not-found', message: `unknown command ${String(channel)}` } })
    }
    return ipcRenderer.invoke(channel, payload)
  },
  onEvent(listener) {
    const handler = (_event: IpcRendererEvent, e: ApiEvent) => listener(e)
    ipcRenderer.on(EVENT_CHANNEL, handler)
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler)
    }
  }
}

contextBridge.exposeInMainWorld('fedlora', bridge)
