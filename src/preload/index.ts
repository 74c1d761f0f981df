import { contextBridge, ipcRenderer } from 'electron'
import { version } from '../../package.json'
import { isApiCommand, type FedloraBridge } from '../shared/api'

const bridge: FedloraBridge = {
  version,
  invoke(channel, payload) {
    if (!isApiCommand(channel)) return Promise.reject(new Error(`Unknown command: ${String(channel)}`))
    return ipcRenderer.invoke(channel, payload)
  }
}

contextBridge.exposeInMainWorld('fedlora', bridge)
