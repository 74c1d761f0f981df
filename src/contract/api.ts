/**
 * The one contract between the UI and the service: every transport (Electron IPC, the local
 * HTTP/WebSocket server, the CLI) carries exactly these commands and events, and the renderer talks
 * to them through one `ApiClient`. Only plain JSON data crosses it.
 *
 * Transport mapping:
 *  - IPC: `ipcRenderer.invoke(command, request)`; events on the `api.event` channel.
 *  - HTTP: `POST /api/<command>` with the request as the JSON body and header
 *    `x-fedlora-token: <token>`; replies `200 {ok:true,data}` or `4xx/5xx {ok:false,error}`.
 *    Events: WebSocket `/api/events?token=<token>`, one JSON `ApiEvent` per message.
 */
import type { ConfigIssue, RoundMetrics } from '../engine/wire'

export type { ConfigIssue, RoundMetrics }

/** The IPC channel that carries `ApiEvent`s from the main process to the renderer (main/ipc.ts, preload). */
export const EVENT_CHANNEL = 'api.event'

export const API_COMMANDS = [
  'system.info',
  'config.validate',
  'config.presets',
  'config.schema',
  'runs.list',
  'runs.get',
  'runs.create',
  'runs.start',
  'runs.stop',
  'runs.resume',
  'runs.duplicate',
  'runs.delete',
  'runs.metrics',
  'reports.export',
  'sweeps.create',
  'sweeps.list',
  'data.preview',
  'system.pickPath',
  'pool.list',
] as const
export type ApiCommand = (typeof API_COMMANDS)[number]

export type RunStatus = 'created' | 'queued' | 'running' | 'completed' | 'failed' | 'stopped' | 'interrupted'

export interface SystemInfo {
  appVersion: string
  node: string
  platform: string
  arch: string
  cores: number
  /** tfjs backend a new run gets with backend "auto" (null until one was initialised). */
  backend: string | null
  /** The WebGPU adapter of this machine (software: SwiftShader and the like, which "auto" skips), or why there is none. */
  gpu: { adapter: { vendor: string; architecture: string; description: string; software: boolean } | null; reason: string | null }
  versions: Record<string, string>
  runsDir: string
  /** Most runs trained at once; the rest wait as `queued`. */
  maxConcurrent: number
  /** Worker threads each run trains its clients on (1: the run's own thread). */
  clientWorkers: number
  transport: 'ipc' | 'http'
}

export type ValidateResult = { ok: true; config: Record<string, unknown> } | { ok: false; issues: ConfigIssue[] }

export interface Preset {
  id: string
  title: string
  description: string
  config: Record<string, unknown>
}

/** A row of the runs list (cheap to compute from summary.json + config.json). */
export interface RunListItem {
  id: string
  name: string
  status: RunStatus
  createdAt: string
  /** compression.method */
  method: string
  /** control.method (null before TSFA exists or when not set) */
  controller: string | null
  rank: number | string
  roundsDone: number
  rounds: number
  finalAcc: number | null
  bestAcc: number | null
  totalUplinkBits: number
  meanRoundTime: number
  latencyBudgetS: number | null
  tags: string[]
  error?: string
}

export interface RunDetail {
  item: RunListItem
  config: Record<string, unknown>
  meta: Record<string, unknown>
  metrics: RoundMetrics[]
  /** Last lines of the run's log (newest last). */
  log: string[]
}

/** A worker of the queue's pool (`fedlora worker`), from its heartbeat. */
export interface PoolWorker {
  id: string
  host: string
  pid: number
  backend: string
  /** Jobs it takes at once. */
  concurrency: number
  /** Jobs running now (0: idle). */
  busy: number
  jobsDone: number
  /** Last heartbeat, ms since the epoch. */
  lastSeen: number
}

/** The queue runs train their clients on (`serve --queue`); queue null: runs train here. */
export interface PoolInfo {
  /** The queue URL without its password. */
  queue: string | null
  workers: PoolWorker[]
  /** Why the workers could not be listed (Redis away), else null. */
  error: string | null
}

export type RunEvent =
  | { type: 'round'; runId: string; metrics: RoundMetrics; totalRounds: number }
  | { type: 'status'; runId: string; status: RunStatus; item: RunListItem }
  | { type: 'log'; runId: string; line: string }
  | { type: 'deleted'; runId: string }

export type ApiEvent = RunEvent

/** Request and response type of every command, keyed by name. */
export interface ApiCommandTypes {
  'system.info': { request: void; response: SystemInfo }
  'config.validate': { request: { config: unknown }; response: ValidateResult }
  'config.presets': { request: void; response: Preset[] }
  /** JSON Schema of the config (descriptions, units, defaults) for forms and help. */
  'config.schema': { request: void; response: Record<string, unknown> }
  'runs.list': { request: void; response: RunListItem[] }
  'runs.get': { request: { id: string }; response: RunDetail }
  /** Validates, creates the run directory; `start: "now"` starts or queues it. Invalid config: error code "invalid-config" with issues. */
  'runs.create': { request: { config: unknown; start?: 'now' | 'no'; tags?: string[] }; response: RunListItem }
  'runs.start': { request: { id: string }; response: RunListItem }
  /** Graceful: finishes the current round, writes summary (status stopped). */
  'runs.stop': { request: { id: string }; response: RunListItem }
  'runs.resume': { request: { id: string }; response: RunListItem }
  'runs.duplicate': { request: { id: string; start?: 'now' | 'no' }; response: RunListItem }
  'runs.delete': { request: { id: string }; response: { id: string } }
  /** Rounds after `since` (exclusive), for catching up after a reconnect. */
  'runs.metrics': { request: { id: string; since?: number }; response: RoundMetrics[] }
  /**
   * Writes a report of the runs (docs/reports.md) into a new folder `<runsDir>/_reports/<time>-<name>/`
   * (never listed as a run). `formats`: html (default), pdf, svg, png, csv, json, tex, md. `targetAcc`:
   * the accuracy (0..1] for "bits to reach" (default: the lowest final accuracy). `files` are absolute
   * paths; `errors` names formats that could not be written (pdf/png without Chromium) while the others were.
   */
  'reports.export': { request: { ids: string[]; formats?: string[]; targetAcc?: number }; response: ReportExport }
  /**
   * Expand a grid (the `fedlora sweep` format: base = a preset id or a config object, grid,
   * variants) into runs tagged `sweep:<name>`; `start: "now"` queues them all. Invalid: error
   * "invalid-config" with issues naming the run and field.
   */
  'sweeps.create': { request: { spec: unknown; start?: 'now' | 'no' }; response: SweepInfo }
  'sweeps.list': { request: void; response: SweepInfo[] }
  /** Class histogram per client and a few samples; invalid config: error "invalid-config". */
  'data.preview': { request: { config: unknown }; response: DataPreview }
  /**
   * A native file/folder dialog (desktop app only: over HTTP it answers "invalid-request" and the
   * form keeps its path fields). `path: null` when cancelled.
   */
  'system.pickPath': { request: { kind: 'file' | 'folder'; title?: string }; response: { path: string | null } }
  /** The queue's workers: host, backend, busy/idle, jobs done (queue null and no workers without `serve --queue`). */
  'pool.list': { request: void; response: PoolInfo }
}

/** What a config's dataset looks like after partitioning (the new-run form's preview). */
export interface DataPreview {
  format: string
  numClasses: number
  classNames: string[]
  trainSamples: number
  /** Per client, samples per class (the run's own seeded partition). */
  clientHistograms: number[][]
  /** The first training samples: raw text, or pixels (row-major, channels last, 0-255). */
  samples: ({ label: number; text: string } | { label: number; image: { width: number; height: number; channels: number; pixels: number[] } })[]
}

/** A sweep started from the app: its runs carry the tag `sweep:<name>`. */
export interface SweepInfo {
  name: string
  tag: string
  total: number
  /** Runs per status. */
  counts: Partial<Record<RunStatus, number>>
  /** Its runs in plan order. */
  runIds: string[]
}

export interface ReportExport {
  files: string[];
  dir: string;
  errors?: string[];
}

export type ApiRequest<C extends ApiCommand> = ApiCommandTypes[C]['request']
export type ApiResponse<C extends ApiCommand> = ApiCommandTypes[C]['response']

export type ApiErrorCode = 'invalid-config' | 'invalid-request' | 'not-found' | 'conflict' | 'internal' | 'unauthorized' | 'too-large' | 'rate-limited'

/** What a failed command carries over any transport. */
export interface ApiErrorData {
  code: ApiErrorCode
  message: string
  issues?: ConfigIssue[]
}

export class ApiError extends Error {
  constructor(readonly code: ApiErrorCode, message: string, readonly issues?: ConfigIssue[]) {
    super(message)
    this.name = 'ApiError'
  }
  toData(): ApiErrorData {
    return { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) }
  }
}

export function isApiCommand(value: unknown): value is ApiCommand {
  return typeof value === 'string' && (API_COMMANDS as readonly string[]).includes(value)
}

/** The service side: one implementation (src/service/api.ts), wrapped by every transport. */
export interface ApiHandlers {
  call<C extends ApiCommand>(command: C, request: ApiRequest<C>): Promise<ApiResponse<C>>
  /** Returns an unsubscribe function. */
  subscribe(listener: (e: ApiEvent) => void): () => void
}

/** The renderer side: what every transport client implements (IPC bridge, HTTP+WS). */
export interface ApiClient {
  readonly transport: 'ipc' | 'http'
  call<C extends ApiCommand>(command: C, request: ApiRequest<C>): Promise<ApiResponse<C>>
  subscribe(listener: (e: ApiEvent) => void): () => void
}

/** What the preload exposes as `window.fedlora` (absent in server mode). */
export interface FedloraBridge {
  version: string
  invoke<C extends ApiCommand>(channel: C, payload?: ApiRequest<C>): Promise<{ ok: true; data: ApiResponse<C> } | { ok: false; error: ApiErrorData }>
  onEvent(listener: (e: ApiEvent) => void): () => void
}
