/**
 * Static files of the built renderer (out/renderer). Paths are decoded once, must stay inside the
 * root after resolving `..` and symlinks, and anything else is a 404. Paths without an extension
 * that name no file get index.html (client-side routes).
 */
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page's CSP: same-origin scripts, styles and sockets; no frames, forms, plugins or base changes. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:", "font-src 'self' data:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`, "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end('not found\n');
}

/** The file a URL path names inside `root`, or null (outside the root, missing, not a file). */
export function resolveStatic(root: string, urlPath: string): string | null {
  let decoded: string;
  try { decoded = decodeURIComponent(urlPath); } catch { return null; }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) return null;
  const realRoot = fs.realpathSync(root);
  let file = path.resolve(realRoot, '.' + path.posix.normalize('/' + decoded));
  const inside = (f: string) => f === realRoot || f.startsWith(realRoot + path.sep);
  if (!inside(file)) return null;
  try {
    if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
  } catch {
    if (path.extname(decoded) !== '') return null;
    file = path.join(realRoot, 'index.html'); // a client-side route
  }
  try {
    const real = fs.realpathSync(file);
    return inside(real) && fs.statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

export function serveStatic(root: string | undefined, urlPath: string, req: IncomingMessage, res: ServerResponse, port: number): void {
  const common = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cross-origin-opener-policy': 'same-origin' };
  if (!root || !fs.existsSync(path.join(root, 'index.html'))) {
    if (urlPath !== '/') return notFound(res);
    res.writeHead(200, { ...common, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end('FedLoRA Workbench server: the UI is not built (run `npx electron-vite build`); the API answers at POST /api/<command>.\n');
    return;
  }
  const file = resolveStatic(root, urlPath);
  if (!file) return notFound(res);
  const ext = path.extname(file).toLowerCase();
  const headers: Record<string, string | number> = {
    ...common,
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'content-length': fs.statSync(file).size,
    'cache-control': ext === '.html' ? 'no-store' : 'no-cache',
  };
  if (ext === '.html') headers['content-security-policy'] = contentSecurityPolicy(port);
  res.writeHead(200, headers);
  if (req.method === 'HEAD') { res.end(); return; }
  const stream = fs.createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
