/**
 * PDF and PNG through a Chromium found on this machine (no bundled browser): one headless
 * instance driven over the DevTools protocol on a pipe (--remote-debugging-pipe), so the PDF and
 * every PNG of a report share one launch. PNGs are the figures' SVG rasterised at the chosen DPI,
 * with the DPI written into the file (pHYs) so that word processors and LaTeX size them right.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export class BrowserMissingError extends Error {}

/** What the report needs from a browser; the Electron main process may supply its own. */
export interface ReportBrowser {
  pdf(htmlFile: string, pdfFile: string): Promise<void>;
  /** Rasterise an SVG of `widthIn` x `heightIn` inches at `dpi`. */
  png(svg: string, widthIn: number, heightIn: number, dpi: number, pngFile: string): Promise<void>;
  close(): Promise<void>;
}

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome', 'microsoft-edge'];
const FIXED = [
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', 'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
  'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe',
];

export const INSTALL_HINT = 'install Chromium or Google Chrome (Debian/Ubuntu: apt install chromium; macOS: brew install --cask chromium) or set FEDLORA_CHROMIUM to the browser executable';

/** FEDLORA_CHROMIUM, else the first of chromium, chromium-browser, google-chrome, ... on PATH, else the usual install folders. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.FEDLORA_CHROMIUM) return fs.existsSync(env.FEDLORA_CHROMIUM) ? env.FEDLORA_CHROMIUM : null;
  const exts = process.platform === 'win32' ? ['.exe', ''] : [''];
  for (const name of NAMES) {
    for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
      for (const ext of exts) {
        const f = path.join(dir, name + ext);
        try { if (fs.statSync(f).isFile()) return f; } catch { /* not here */ }
      }
    }
  }
  return FIXED.find((f) => fs.existsSync(f)) ?? null;
}

interface Pending { resolve(v: Record<string, unknown>): void; reject(e: Error): void; timer: NodeJS.Timeout }

/** A minimal DevTools-protocol client over Chromium's pipe (fd 3 in, fd 4 out, NUL-separated JSON). */
class CdpPipe {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters: { method: string; sessionId?: string; resolve(): void }[] = [];
  private buf = '';
  private closed: Error | null = null;

  constructor(private readonly child: ChildProcess, private readonly stderrTail: () => string) {
    const out = child.stdio[4] as NodeJS.ReadableStream;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buf += chunk;
      let i: number;
      while ((i = this.buf.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
        this.dispatch(msg);
      }
    });
    child.on('exit', (code) => this.fail(new Error(`Chromium exited (code ${code})${this.stderrTail() ? `: ${this.stderrTail()}` : ''}`)));
    child.on('error', (e) => this.fail(e));
  }

  private dispatch(msg: { id?: number; method?: string; sessionId?: string; result?: Record<string, unknown>; error?: { message: string } }): void {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new Error(msg.error.message)); else p.resolve(msg.result ?? {});
    } else if (msg.method) {
      for (let k = this.waiters.length - 1; k >= 0; k--) {
        const w = this.waiters[k];
        if (w.method === msg.method && (w.sessionId === undefined || w.sessionId === msg.sessionId)) { this.waiters.splice(k, 1); w.resolve(); }
      }
    }
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = e;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(e); }
    this.pending.clear();
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`Chromium: ${method} timed out after ${timeoutMs / 1000} s`)); }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      (this.child.stdio[3] as NodeJS.WritableStream).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  once(method: string, sessionId?: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ method, sessionId, resolve }));
  }
}

/** A headless Chromium session (one page). Throws BrowserMissingError when none is found. */
export async function launchChromium(executable = findChromium()): Promise<ReportBrowser> {
  if (!executable) throw new BrowserMissingError(`no Chromium found: ${INSTALL_HINT}`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-chromium-'));
  // No sandbox (as Playwright's default): the page is our own file with a CSP that allows no
  // script and no network, and the sandbox fails as root and in many containers.
  const child = spawn(executable, [
    '--headless', '--remote-debugging-pipe', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
    '--disable-extensions', '--disable-background-networking', '--disable-sync', '--mute-audio', '--hide-scrollbars',
    `--user-data-dir=${profile}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { stderr = (stderr + d).slice(-2000); });
  const cdp = new CdpPipe(child, () => stderr.trim().split('\n').filter((l) => !/dbus|Fontconfig/i.test(l)).slice(-3).join(' | '));
  const cleanup = () => { try { fs.rmSync(profile, { recursive: true, force: true }); } catch { /* best effort */ } };
  let sessionId: string;
  try {
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' }, undefined, 30_000);
    ({ sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string });
    await cdp.send('Page.enable', {}, sessionId);
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw new Error(`could not start ${executable}: ${(e as Error).message}`);
  }
  const load = async (url: string) => {
    const loaded = cdp.once('Page.loadEventFired', sessionId);
    const r = await cdp.send('Page.navigate', { url }, sessionId);
    if (r.errorText) throw new Error(`Chromium could not open ${url.slice(0, 80)}: ${r.errorText}`);
    await loaded;
  };
  return {
    async pdf(htmlFile, pdfFile) {
      await cdp.send('Emulation.clearDeviceMetricsOverride', {}, sessionId);
      await load(pathToFileURL(path.resolve(htmlFile)).href);
      const { data } = await cdp.send('Page.printToPDF', { printBackground: true, preferCSSPageSize: true, displayHeaderFooter: false }, sessionId, 120_000);
      fs.writeFileSync(pdfFile, Buffer.from(String(data), 'base64'));
    },
    async png(svg, widthIn, heightIn, dpi, pngFile) {
      const width = Math.round(widthIn * 96), height = Math.round(heightIn * 96);
      await cdp.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: dpi / 96, mobile: false }, sessionId);
      const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#fff}svg{display:block}</style></head><body>${svg}</body></html>`;
      await load('data:text/html;base64,' + Buffer.from(page).toString('base64'));
      const { data } = await cdp.send('Page.captureScreenshot', { format: 'png', clip: { x: 0, y: 0, width, height, scale: 1 } }, sessionId);
      fs.writeFileSync(pngFile, withDpi(Buffer.from(String(data), 'base64'), dpi));
    },
    async close() {
      try { await cdp.send('Browser.close', {}, undefined, 5000); } catch { /* exiting anyway */ }
      if (child.exitCode === null) child.kill('SIGKILL');
      cleanup();
    },
  };
}

const CRC_TABLE = Array.from({ length: 256 }, (_v, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG with a pHYs chunk saying `dpi` (replacing any), placed right after IHDR. */
export function withDpi(png: Buffer, dpi: number): Buffer {
  const chunks: Buffer[] = [png.subarray(0, 8)];
  let off = 8;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const end = off + 12 + len;
    if (type !== 'pHYs') chunks.push(png.subarray(off, end));
    if (type === 'IHDR') {
      const body = Buffer.alloc(13);
      body.write('pHYs', 0, 'latin1');
      const ppm = Math.round(dpi / 0.0254);
      body.writeUInt32BE(ppm, 4); body.writeUInt32BE(ppm, 8); body.writeUInt8(1, 12);
      const chunk = Buffer.alloc(21);
      chunk.writeUInt32BE(9, 0); body.copy(chunk, 4); chunk.writeUInt32BE(crc32(body), 17);
      chunks.push(chunk);
    }
    off = end;
  }
  return Buffer.concat(chunks);
}
