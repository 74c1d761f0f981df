/**
 * Server mode: the contract over HTTP + WebSocket on 127.0.0.1, and the built renderer as static
 * files. `POST /api/<command>` (JSON body, header `x-fedlora-token`) answers `{ok:true,data}` or
 * `{ok:false,error}`; `GET /api/events?token=` (WebSocket) pushes every ApiEvent as JSON.
 * Refused: another Host (DNS rebinding), a foreign Origin, a missing or wrong token, bodies over
 * the size limit, calls beyond the rate and in-flight limits.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { ApiError, isApiCommand, type ApiErrorCode, type ApiHandlers } from '../contract/api';
import { DEFAULT_LIMITS, TokenBucket, type ServerLimits } from './limits';
import { serveStatic } from './static';

export interface ServerOptions {
  api: ApiHandlers;
  /** Loopback only: anything else is refused. */
  host?: '127.0.0.1';
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default: 32 random bytes, base64url. */
  token?: string;
  /** The built renderer (out/renderer); without it `/` explains how to build it. */
  staticDir?: string;
  limits?: Partial<ServerLimits>;
}

export interface RunningServer {
  /** Open this in a browser: it carries the token. */
  url: string;
  port: number;
  token: string;
  /** Requests handled at once right now, and the most seen. */
  stats(): { inFlight: number; maxInFlight: number; eventClients: number };
  close(): Promise<void>;
}

export const TOKEN_HEADER = 'x-fedlora-token';

const STATUS: Record<ApiErrorCode, number> = {
  'invalid-config': 400, 'invalid-request': 400, 'not-found': 404, conflict: 409, internal: 500, unauthorized: 401, 'too-large': 413, 'rate-limited': 429,
};

function sameSecret(given: string | undefined | null, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given), b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store',
    'x-content-type-options': 'nosniff', ...extra,
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, code: ApiErrorCode, message: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { ok: false, error: { code, message } }, extra);
}

/** Answers now, drops the rest of the body and closes the connection (the client may still be sending). */
function refuseBody(res: http.ServerResponse, req: http.IncomingMessage, status: number, code: ApiErrorCode, message: string, extra: Record<string, string> = {}): void {
  sendError(res, status, code, message, { connection: 'close', ...extra });
  req.resume();
  const timer = setTimeout(() => req.socket.destroy(), 2_000);
  timer.unref();
  res.on('close', () => clearTimeout(timer));
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) { req.removeAllListeners('data'); resolve(null); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error(`the server binds 127.0.0.1 only, got ${String(host)}`);
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const token = opts.token ?? crypto.randomBytes(32).toString('base64url');
  const bucket = new TokenBucket(limits.ratePerSecond, limits.burst);
  let port = 0;
  let inFlight = 0, maxInFlight = 0;
  const allowedHost = (h: string | undefined) => h === `127.0.0.1:${port}` || h === `localhost:${port}`;
  /** Browsers send Origin on cross-site POSTs and on every WebSocket; only our own page may. */
  const allowedOrigin = (o: string | undefined) => o === undefined || o === `http://127.0.0.1:${port}` || o === `http://localhost:${port}`;

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, command: string): Promise<void> {
    if (req.method !== 'POST') return refuseBody(res, req, 405, 'invalid-request', 'API calls are POST', { allow: 'POST' });
    if (!allowedOrigin(req.headers.origin)) return refuseBody(res, req, 403, 'unauthorized', 'foreign Origin');
    if (!sameSecret(req.headers[TOKEN_HEADER] as string | undefined, token)) return refuseBody(res, req, 401, 'unauthorized', `missing or wrong ${TOKEN_HEADER} header`);
    if (!isApiCommand(command)) return refuseBody(res, req, 404, 'not-found', `unknown command ${JSON.stringify(command.slice(0, 64))}`);
    if (inFlight >= limits.maxInFlight) return refuseBody(res, req, 503, 'rate-limited', 'server busy; retry shortly', { 'retry-after': '1' });
    if (!bucket.take()) return refuseBody(res, req, 429, 'rate-limited', 'too many requests; retry shortly', { 'retry-after': '1' });
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') return refuseBody(res, req, 415, 'invalid-request', 'content-type must be application/json');
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBodyBytes) return refuseBody(res, req, 413, 'too-large', `body larger than ${limits.maxBodyBytes} bytes`);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const body = await readBody(req, limits.maxBodyBytes);
      if (body === null) return refuseBody(res, req, 413, 'too-large', `body larger than ${limits.maxBodyBytes} bytes`);
      let request: unknown;
      try {
        request = body.length ? JSON.parse(body.toString('utf8')) : undefined;
      } catch {
        return sendError(res, 400, 'invalid-request', 'body is not valid JSON');
      }
      try {
        const data = await opts.api.call(command, request as never);
        sendJson(res, 200, { ok: true, data });
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError('internal', e instanceof Error ? e.message : String(e));
        sendJson(res, STATUS[err.code], { ok: false, error: err.toData() });
      }
    } finally {
      inFlight--;
    }
  }

  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 10_000 }, (req, res) => {
    if (!allowedHost(req.headers.host)) return refuseBody(res, req, 403, 'unauthorized', 'forbidden Host header');
    let pathname: string;
    try { pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname; } catch { return refuseBody(res, req, 400, 'invalid-request', 'bad URL'); }
    if (pathname.startsWith('/api/')) {
      handleApi(req, res, pathname.slice('/api/'.length)).catch((e) => {
        if (!res.headersSent) sendError(res, 500, 'internal', (e as Error).message);
        else res.destroy();
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuseBody(res, req, 405, 'invalid-request', 'static files are GET', { allow: 'GET, HEAD' });
    serveStatic(opts.staticDir, pathname, req, res, port);
  });
  server.maxConnections = limits.maxConnections;

  // ---- events over WebSocket ----
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  const clients = new Set<WebSocket>();
  const refuseUpgrade = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
  server.on('upgrade', (req, socket, head) => {
    let url: URL;
    try { url = new URL(req.url ?? '/', 'http://127.0.0.1'); } catch { return refuseUpgrade(socket, 400, 'Bad Request'); }
    if (!allowedHost(req.headers.host) || !allowedOrigin(req.headers.origin)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (url.pathname !== '/api/events') return refuseUpgrade(socket, 404, 'Not Found');
    if (!sameSecret(url.searchParams.get('token'), token)) return refuseUpgrade(socket, 401, 'Unauthorized');
    if (clients.size >= limits.maxEventClients) return refuseUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => ws.terminate());
      ws.on('message', () => { /* the stream is one-way */ });
    });
  });
  const unsubscribe = opts.api.subscribe((e) => {
    if (clients.size === 0) return;
    const text = JSON.stringify(e);
    for (const ws of clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > limits.maxEventBufferBytes) { ws.terminate(); clients.delete(ws); continue; }
      ws.send(text);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${encodeURIComponent(token)}`,
    port,
    token,
    stats: () => ({ inFlight, maxInFlight, eventClients: clients.size }),
    close: async () => {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      clients.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    },
  };
}
