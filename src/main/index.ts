import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, BrowserWindow, dialog } from 'electron'
import { createApi } from '../service/api'
import { RunManager } from '../service/manager'
import { PoolView } from '../service/queue/view'
import { parseQueueUrl } from '../service/queue/url'
import { forwardEvents, registerApi } from './ipc'
import { electronReportBrowser } from './reportBrowser'

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

let manager: RunManager | null = null

void app.whenReady().then(() => {
  app.setName('FedLoRA Workbench')
  // An installed app: configs/ and resources/ are in Electron's resources folder (package.json "build");
  // worker threads read the same through the environment.
  if (app.isPackaged) process.env['FEDLORA_RESOURCES'] ??= join(process.resourcesPath, 'resources')
  // FEDLORA_QUEUE=redis://...: runs train their clients on that queue's `fedlora worker` pool (docs/scale-out.md)
  const queueUrl = process.env['FEDLORA_QUEUE']
  let pool: PoolView | undefined
  if (queueUrl) {
    try {
      pool = new PoolView(parseQueueUrl(queueUrl))
    } catch (e) {
      console.error(`FEDLORA_QUEUE: ${(e as Error).message}; runs train their clients here`)
    }
  }
  // Training runs in worker threads (out/main/runWorker.js, built beside this file).
  manager = new RunManager({
    runsDir: join(app.getPath('userData'), 'runs'),
    workerEntry: join(__dirname, 'runWorker.js'),
    maxConcurrent: Number(process.env['FEDLORA_MAX_CONCURRENT']) || 1,
    clientWorkers: Number(process.env['FEDLORA_CLIENT_WORKERS']) || 1,
    clientQueue: pool ? queueUrl : undefined
  })
  const pickPath = async (kind: 'file' | 'folder', title?: string): Promise<string | null> => {
    const win = BrowserWindow.getFocusedWindow()
    const opts = { title, properties: [kind === 'file' ? 'openFile' : 'openDirectory'] as ('openFile' | 'openDirectory')[] }
    const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts)
    return r.canceled || !r.filePaths.length ? null : r.filePaths[0]
  }
  const api = createApi(manager, { transport: 'ipc', appVersion: app.getVersion(), reportBrowser: electronReportBrowser, pickPath, pool: pool && (() => pool.list()) })
  registerApi(api, isAppUrl)
  forwardEvents(api, () =>
    BrowserWindow.getAllWindows()
      .map((w) => w.webContents)
      .filter((wc) => isAppUrl(wc.getURL()))
  )
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

// Quitting: running runs finish their round and are recorded as stopped (at most 15 s).
let shuttingDown = false
app.on('before-quit', (event) => {
  if (!manager || shuttingDown) return
  event.preventDefault()
  shuttingDown = true
  void manager.shutdown(15_000).finally(() => app.quit())
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
