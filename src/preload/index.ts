import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { version } from '../../package.json'
import { EVENT_CHANNEL, isApiCommand, type ApiEvent, type FedloraBridge } from '../contract/api'

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
