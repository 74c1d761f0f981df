/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface Window {
  /** Set by the Electron preload; undefined when the UI is served to a browser (server mode). */
  fedlora?: import('../../contract/api').FedloraBridge
}
