/**
 * The app's PDF/PNG renderer for reports: Electron's own Chromium (hidden windows, no script),
 * so exporting a PDF from the app needs no installed browser.
 */
import * as fs from 'node:fs'
import { BrowserWindow } from 'electron'
import { withDpi, type ReportBrowser } from '../service/report/browser'

function hiddenWindow(width: number, height: number): BrowserWindow {
  return new BrowserWindow({
    show: false,
    width,
    height,
    useContentSize: true,
    paintWhenInitiallyHidden: true,
    webPreferences: { javascript: false, sandbox: true, contextIsolation: true, nodeIntegration: false }
  })
}

export async function electronReportBrowser(): Promise<ReportBrowser> {
  const windows: BrowserWindow[] = []
  const open = (w: number, h: number) => {
    const win = hiddenWindow(w, h)
    windows.push(win)
    return win
  }
  return {
    async pdf(htmlFile, pdfFile) {
      const win = open(800, 1100)
      await win.loadFile(htmlFile)
      fs.writeFileSync(pdfFile, await win.webContents.printToPDF({ printBackground: true, preferCSSPageSize: true }))
      win.destroy()
    },
    async png(svg, widthIn, heightIn, dpi, pngFile) {
      const width = Math.round(widthIn * dpi)
      const height = Math.round(heightIn * dpi)
      const win = open(width, height)
      // the SVG scales as a vector to the target pixel size; resize() undoes a HiDPI screen's factor
      const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#fff;overflow:hidden}svg{display:block;width:${width}px;height:${height}px}</style></head><body>${svg}</body></html>`
      await win.loadURL('data:text/html;base64,' + Buffer.from(page).toString('base64'))
      const image = (await win.webContents.capturePage()).resize({ width, height })
      fs.writeFileSync(pngFile, withDpi(image.toPNG(), dpi))
      win.destroy()
    },
    async close() {
      for (const w of windows) if (!w.isDestroyed()) w.destroy()
    }
  }
}
