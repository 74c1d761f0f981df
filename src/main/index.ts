import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, BrowserWindow } from 'electron'
import type { SystemInfo } from '../shared/api'
import { handle } from './ipc'

const devUrl = process.env['ELECTRON_RENDERER_URL']
const appUrl = devUrl ?? pathToFileURL(join(__dirname, '../renderer/index.html')).href

/** True for the app's own page (dev server origin, or the built index.html). */
function isAppUrl(url: string): boolean {
  try {
    const target = new URL(url)
    const own = new URL(appUrl)
    return devUrl ? target.origin === own.origin : target.protocol === 'file:' && target.pathname === own.pathname
  } catch {
    return false
  }
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    show: false,
    title: 'FedLoRA Workbench',
    webPreferences: {
      preload: join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true
    }
  })
  win.once('ready-to-show', () => win.show())
  void win.loadURL(appUrl)
}

// Every web contents: no navigation away from the app, no new windows, no webviews.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
})

void app.whenReady().then(() => {
  app.setName('FedLoRA Workbench')
  handle('system.info', isAppUrl, (): SystemInfo => ({
    appVersion: app.getVersion(),
    node: process.versions.node,
    platform: process.platform
  }))
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
