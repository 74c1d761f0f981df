/**
 * Plain series from metrics rows for the charts: the x value per row for the chosen axis, and
 * which optional fields a run has (older runs lack the channel/controller fields).
 */
import type { RoundMetrics } from '../../../contract/api'

export type XAxisKind = 'round' | 'bits' | 'time' | 'wall'

export const X_AXES: { value: XAxisKind; label: string; axisName: string }[] = [
  { value: 'round', label: 'Round', axisName: 'round' },
  { value: 'bits', label: 'Cumulative uplink bits', axisName: 'cumulative uplink [bit]' },
  { value: 'time', label: 'Simulated time', axisName: 'simulated time cumTime [s]' },
  { value: 'wall', label: 'Wall time', axisName: 'wall-clock time [s]' }
]

export const xAxisName = (x: XAxisKind): string => X_AXES.find((a) => a.value === x)?.axisName ?? x

/** The x value of every row for an axis kind (wall time: the running sum of wallMs, in seconds). */
export function xValues(rows: readonly RoundMetrics[], x: XAxisKind): number[] {
  if (x === 'wall') {
    let sum = 0
    return rows.map((m) => (sum += typeof m.wallMs === 'number' && Number.isFinite(m.wallMs) ? m.wallMs / 1000 : 0))
  }
  return rows.map((m) => (x === 'round' ? m.round : x === 'bits' ? m.cumUplinkBits : m.cumTime))
}

export type Point = [number, number | null]

/** [x, y] pairs of a numeric field (times `scale`); null/absent values are skipped. */
export function pointsOf(rows: readonly RoundMetrics[], field: string, x: XAxisKind, scale = 1): Point[] {
  const xs = xValues(rows, x)
  const out: Point[] = []
  rows.forEach((m, i) => {
    const y = m[field]
    if (typeof y === 'number' && Number.isFinite(y)) out.push([xs[i], y * scale])
  })
  return out
}

/** [x, y] pairs of a value computed per row (null skipped). */
export function pointsBy(rows: readonly RoundMetrics[], x: XAxisKind, f: (m: RoundMetrics) => number | null): Point[] {
  const xs = xValues(rows, x)
  const out: Point[] = []
  rows.forEach((m, i) => {
    const y = f(m)
    if (y !== null && Number.isFinite(y)) out.push([xs[i], y])
  })
  return out
}

export function hasField(rows: readonly RoundMetrics[], field: string): boolean {
  return rows.some((m) => m[field] !== undefined && m[field] !== null)
}

export function numArray(v: unknown): number[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' || x === null) ? (v as number[]) : null
}

/** Simulated time is meaningful only when some round took time > 0 (no channel model: all 0). */
export function hasSimulatedTime(rows: readonly RoundMetrics[]): boolean {
  return rows.some((m) => typeof m.roundTime === 'number' && m.roundTime > 0)
}

/**
 * Exponential moving average as TensorBoard draws it: s_i = w s_{i-1} + (1 - w) y_i, debiased
 * (divided by 1 - w^n) so the first points are not pulled towards 0. Null points stay null.
 */
export function ema(points: readonly Point[], weight: number): Point[] {
  if (!(weight > 0)) return points.slice()
  const w = Math.min(weight, 0.999)
  let acc = 0
  let n = 0
  return points.map(([x, y]): Point => {
    if (y === null || !Number.isFinite(y)) return [x, y]
    n++
    acc = w * acc + (1 - w) * y
    return [x, acc / (1 - w ** n)]
  })
}

/** Client ids that appear in a per-client field, sorted. */
export function clientIdsOf(rows: readonly RoundMetrics[], field = 'shares'): number[] {
  const ids = new Set<number>()
  for (const m of rows) if (numArray(m[field])) m.clientIds.forEach((id) => ids.add(id))
  return [...ids].sort((a, b) => a - b)
}

/** Per-client stacked shares: one series per client id, value 0 in rounds it was not sampled. */
export function sharesByClient(rows: readonly RoundMetrics[], field = 'shares', maxClients = 64): { clientId: number; points: [number, number][] }[] {
  return clientIdsOf(rows, field)
    .slice(0, maxClients)
    .map((id) => ({
      clientId: id,
      points: rows.map((m): [number, number] => {
        const arr = numArray(m[field])
        const i = m.clientIds.indexOf(id)
        return [m.round, arr && i >= 0 ? arr[i] ?? 0 : 0]
      })
    }))
}

/** Heatmap cells of a per-client field: [round index, client index, value] (null where not sampled). */
export function clientRoundCells(rows: readonly RoundMetrics[], field = 'shares'): { clients: number[]; rounds: number[]; cells: [number, number, number | null][] } {
  const clients = clientIdsOf(rows, field)
  const at = new Map(clients.map((id, i) => [id, i]))
  const used = rows.filter((m) => numArray(m[field]))
  const cells: [number, number, number | null][] = []
  used.forEach((m, r) => {
    const arr = numArray(m[field])!
    m.clientIds.forEach((id, k) => cells.push([r, at.get(id)!, arr[k] ?? null]))
  })
  return { clients, rounds: used.map((m) => m.round), cells }
}

/** The last row carrying a field (e.g. classAcc, confusion), or null. */
export function lastWith(rows: readonly RoundMetrics[], field: string): RoundMetrics | null {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i][field] !== undefined && rows[i][field] !== null) return rows[i]
  return null
}

/** Seconds left from the mean wall time of the last rounds. */
export function etaSeconds(rows: readonly RoundMetrics[], totalRounds: number, window = 5): number | null {
  if (!rows.length || totalRounds <= 0) return null
  const last = rows[rows.length - 1].round
  const left = totalRounds - last
  if (left <= 0) return 0
  const recent = rows.slice(-window).map((m) => m.wallMs).filter((w) => typeof w === 'number' && w > 0)
  if (!recent.length) return null
  return (left * recent.reduce((a, b) => a + b, 0)) / recent.length / 1000
}

/** At-a-glance figures of a run from its rows: final and best accuracy, total uplink, simulated and wall time. */
export function runStats(rows: readonly RoundMetrics[]): { finalAcc: number | null; bestAcc: number | null; bestRound: number | null; totalBits: number | null; simTime: number | null; meanRoundTime: number | null; wallSeconds: number } {
  let finalAcc: number | null = null
  let bestAcc: number | null = null
  let bestRound: number | null = null
  let wall = 0
  let timeSum = 0
  for (const m of rows) {
    if (typeof m.testAcc === 'number') {
      finalAcc = m.testAcc
      if (bestAcc === null || m.testAcc > bestAcc) {
        bestAcc = m.testAcc
        bestRound = m.round
      }
    }
    if (typeof m.wallMs === 'number') wall += m.wallMs
    if (typeof m.roundTime === 'number') timeSum += m.roundTime
  }
  const last = rows.length ? rows[rows.length - 1] : null
  return {
    finalAcc,
    bestAcc,
    bestRound,
    totalBits: last ? last.cumUplinkBits : null,
    simTime: last && hasSimulatedTime(rows) ? last.cumTime : null,
    meanRoundTime: rows.length && timeSum > 0 ? timeSum / rows.length : null,
    wallSeconds: wall / 1000
  }
}
