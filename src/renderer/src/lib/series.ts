/**
 * Plain series from metrics rows for the charts: the x value per row for the chosen axis, and
 * which optional fields a run has (older runs lack the channel/controller fields).
 */
import type { RoundMetrics } from '../../../shared/api'

export type XAxisKind = 'round' | 'bits' | 'time'

export const X_AXES: { value: XAxisKind; label: string; axisName: string }[] = [
  { value: 'round', label: 'Round', axisName: 'round' },
  { value: 'bits', label: 'Cumulative uplink bits', axisName: 'cumulative uplink [bit]' },
  { value: 'time', label: 'Simulated time', axisName: 'simulated time cumTime [s]' }
]

export function xOf(m: RoundMetrics, x: XAxisKind): number {
  return x === 'round' ? m.round : x === 'bits' ? m.cumUplinkBits : m.cumTime
}

export type Point = [number, number | null]

/** [x, y] pairs of a numeric field; null/absent values are skipped. */
export function pointsOf(rows: readonly RoundMetrics[], field: string, x: XAxisKind): Point[] {
  const out: Point[] = []
  for (const m of rows) {
    const y = m[field]
    if (typeof y === 'number' && Number.isFinite(y)) out.push([xOf(m, x), y])
  }
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

/** Per-client stacked shares: one series per client id, value 0 in rounds it was not sampled. */
export function sharesByClient(rows: readonly RoundMetrics[], field = 'shares', maxClients = 64): { clientId: number; points: [number, number][] }[] {
  const ids = new Set<number>()
  for (const m of rows) if (numArray(m[field])) m.clientIds.forEach((id) => ids.add(id))
  const sorted = [...ids].sort((a, b) => a - b).slice(0, maxClients)
  return sorted.map((id) => ({
    clientId: id,
    points: rows.map((m): [number, number] => {
      const arr = numArray(m[field])
      const i = m.clientIds.indexOf(id)
      return [m.round, arr && i >= 0 ? arr[i] ?? 0 : 0]
    })
  }))
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
