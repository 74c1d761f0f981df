/**
 * The one implementation of the contract (src/contract/api.ts) over a RunManager. Every transport
 * (Electron IPC, HTTP/WebSocket, tests) wraps `createApi(...)`: requests arrive as untrusted JSON,
 * are checked here, and every failure leaves as an `ApiError` with a contract code.
 */
import * as os from 'node:os';
import pkg from '../../package.json';
import { probeGpu } from '../engine/backend';
import { configHelp } from '../engine/config';
import { ApiError, isApiCommand, type ApiCommand, type ApiHandlers, type ApiResponse, type PoolInfo } from '../contract/api';
import { RunLockedError } from './runs/lock';
import { exportRunsReport } from './report/exportRuns';
import type { ReportBrowser } from './report/browser';
import type { RunManager } from './manager';
import { versions } from './versions';

export interface ApiInfo {
  transport: 'ipc' | 'http';
  appVersion?: string;
  /** How `reports.export` renders pdf/png (the app may pass Electron's); default a found Chromium. */
  reportBrowser?: () => Promise<ReportBrowser>;
  /** A native file/folder dialog (the desktop app passes Electron's); absent over HTTP. */
  pickPath?: (kind: 'file' | 'folder', title?: string) => Promise<string | null>;
  /** The queue's pool (`serve --queue`); absent: runs train their clients here. */
  pool?: () => Promise<PoolInfo>;
}

type Handlers = { [C in ApiCommand]: (request: unknown) => ApiResponse<C> | Promise<ApiResponse<C>> };

function fields(request: unknown, command: string): Record<string, unknown> {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new ApiError('invalid-request', `${command}: the request must be a JSON object`);
  }
  return request as Record<string, unknown>;
}

function noRequest(request: unknown, command: string): void {
  if (request !== undefined && request !== null) fields(request, command);
}

function startOption(v: unknown, command: string): 'now' | 'no' | undefined {
  if (v === undefined || v === 'now' || v === 'no') return v;
  throw new ApiError('invalid-request', `${command}: start must be "now" or "no", got ${JSON.stringify(v)}`);
}

function idField(r: Record<string, unknown>, command: string): string {
  if (typeof r.id !== 'string') throw new ApiError('invalid-request', `${command}: id must be a string`);
  return r.id;
}

/** Deepest nesting a request may have: configs are 4 levels deep; deeper input is refused before any handler walks it. */
export const MAX_REQUEST_DEPTH = 64;

/** True when arrays/objects in `value` nest deeper than `max` (iterative: no stack to overflow). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return false;
}

/** Any error as an ApiError: contract errors pass, known service errors map, the rest are `internal`. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof RunLockedError) return new ApiError('conflict', e.message);
  if ((e as NodeJS.ErrnoException)?.code === 'ENOENT') return new ApiError('not-found', (e as Error).message);
  return new ApiError('internal', e instanceof Error ? e.message : String(e));
}

export function createApi(manager: RunManager, info: ApiInfo): ApiHandlers {
  let schema: Record<string, unknown> | null = null;
  const handlers: Handlers = {
    'system.info': async (req) => {
      noRequest(req, 'system.info');
      const gpu = await probeGpu();
      return {
        appVersion: info.appVersion ?? pkg.version,
        node: process.versions.node,
        platform: process.platform,
        arch: process.arch,
        cores: os.cpus().length,
        backend: manager.lastAutoBackend,
        gpu: { adapter: gpu.adapter && { vendor: gpu.adapter.vendor, architecture: gpu.adapter.architecture, description: gpu.adapter.description, software: gpu.adapter.software }, reason: gpu.reason },
        versions: versions(),
        runsDir: manager.runsDir,
        maxConcurrent: manager.maxConcurrent,
        clientWorkers: manager.clientWorkers,
        transport: info.transport,
      };
    },
    'config.validate': (req) => manager.validate(fields(req, 'config.validate').config),
    'config.presets': (req) => { noRequest(req, 'config.presets'); return manager.presets(); },
    'config.schema': (req) => { noRequest(req, 'config.schema'); return (schema ??= configHelp()); },
    'runs.list': (req) => { noRequest(req, 'runs.list'); return manager.list(); },
    'sweeps.create': (req) => {
      const r = fields(req, 'sweeps.create');
      return manager.createSweep(r.spec, { start: startOption(r.start, 'sweeps.create') });
    },
    'sweeps.list': (req) => { noRequest(req, 'sweeps.list'); return manager.sweeps(); },
    'data.preview': (req) => {
      const r = fields(req, 'data.preview');
      if (r.config === undefined) throw new ApiError('invalid-request', 'data.preview: config is required');
      return manager.preview(r.config);
    },
    'pool.list': async (req) => {
      noRequest(req, 'pool.list');
      return info.pool ? info.pool() : { queue: null, workers: [], error: null };
    },
    'system.pickPath': async (req) => {
      const r = fields(req, 'system.pickPath');
      if (r.kind !== 'file' && r.kind !== 'folder') throw new ApiError('invalid-request', 'system.pickPath: kind must be "file" or "folder"');
      if (!info.pickPath) throw new ApiError('invalid-request', 'system.pickPath: file dialogs exist in the desktop app only; type the path (relative to the server\'s working folder or absolute)');
      return { path: await info.pickPath(r.kind, typeof r.title === 'string' ? r.title.slice(0, 200) : undefined) };
    },
    'runs.get': (req) => manager.get(idField(fields(req, 'runs.get'), 'runs.get')),
    'runs.create': (req) => {
      const r = fields(req, 'runs.create');
      if (r.config === undefined) throw new ApiError('invalid-request', 'runs.create: config is required');
      return manager.create(r.config, { start: startOption(r.start, 'runs.create'), tags: r.tags });
    },
    'runs.start': (req) => manager.start(idField(fields(req, 'runs.start'), 'runs.start')),
    'runs.stop': (req) => manager.stop(idField(fields(req, 'runs.stop'), 'runs.stop')),
    'runs.resume': (req) => manager.resume(idField(fields(req, 'runs.resume'), 'runs.resume')),
    'runs.duplicate': (req) => {
      const r = fields(req, 'runs.duplicate');
      return manager.duplicate(idField(r, 'runs.duplicate'), { start: startOption(r.start, 'runs.duplicate') });
    },
    'runs.delete': (req) => manager.delete(idField(fields(req, 'runs.delete'), 'runs.delete')),
    'runs.metrics': (req) => {
      const r = fields(req, 'runs.metrics');
      if (r.since !== undefined && !(Number.isInteger(r.since) && (r.since as number) >= 0)) {
        throw new ApiError('invalid-request', `runs.metrics: since must be an integer >= 0, got ${JSON.stringify(r.since)}`);
      }
      return manager.metrics(idField(r, 'runs.metrics'), (r.since as number | undefined) ?? 0);
    },
    'reports.export': (req) => exportRunsReport(manager, fields(req, 'reports.export'), info.reportBrowser),
  };

  return {
    async call(command, request) {
      try {
        if (!isApiCommand(command)) throw new ApiError('not-found', `unknown command ${JSON.stringify(command)}`);
        if (nestedDeeperThan(request, MAX_REQUEST_DEPTH)) throw new ApiError('invalid-request', `${command}: the request nests arrays/objects deeper than ${MAX_REQUEST_DEPTH} levels; a config is at most 4 deep`);
        return (await handlers[command](request)) as never;
      } catch (e) {
        throw toApiError(e);
      }
    },
    subscribe: (listener) => manager.subscribe(listener),
  };
}
