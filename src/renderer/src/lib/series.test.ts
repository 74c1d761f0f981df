import { describe, expect, it } from 'vitest'
import type { RoundMetrics } from '../../../contract/api'
import { clientRoundCells, ema, etaSeconds, hasSimulatedTime, pointsOf, runStats, sharesByClient, xValues } from './series'

function row(round: number, extra: Partial<RoundMetrics> = {}): RoundMetrics {
  return { round, trainLoss: 1 / round, testAcc: round === 2 ? null : round / 10, testLoss: null, uplinkBits: 100, cumUplinkBits: 100 * round, roundTime: 0, cumTime: 0, wallMs: 1000, clientIds: [1, 2], clientBits: [50, 50], ...extra }
}

describe('series', () => {
  const rows = [row(1), row(2), row(3)]

  it('pairs x and y, skipping rounds without a value', () => {
    expect(pointsOf(rows, 'testAcc', 'round')).toEqual([
      [1, 0.1],
      [3, 0.3]
    ])
    expect(pointsOf(rows, 'testAcc', 'bits')).toEqual([
      [100, 0.1],
      [300, 0.3]
    ])
    expect(pointsOf(rows, 'queue', 'round')).toEqual([])
  })

  it('knows when simulated time is all zero', () => {
    expect(hasSimulatedTime(rows)).toBe(false)
    expect(hasSimulatedTime([row(1, { roundTime: 0.5 })])).toBe(true)
  })

  it('stacks shares per client id, 0 where a client was not sampled', () => {
    const s = sharesByClient([row(1, { clientIds: [1, 2], shares: [0.25, 0.75] }), row(2, { clientIds: [2, 3], shares: [0.5, 0.5] })])
    expect(s).toEqual([
      { clientId: 1, points: [[1, 0.25], [2, 0]] },
      { clientId: 2, points: [[1, 0.75], [2, 0.5]] },
      { clientId: 3, points: [[1, 0], [2, 0.5]] }
    ])
  })

  it('estimates the time left from recent wall times', () => {
    expect(etaSeconds(rows, 5)).toBe(2)
    expect(etaSeconds(rows, 3)).toBe(0)
    expect(etaSeconds([], 3)).toBeNull()
  })
})

describe('series for the chart controls', () => {
  const rows = [1, 2, 3].map((r) => ({ round: r, trainLoss: 1 / r, testAcc: r / 10, testLoss: null, uplinkBits: 100, cumUplinkBits: 100 * r, roundTime: 0.5, cumTime: 0.5 * r, wallMs: 2000, clientIds: [1, 2], clientBits: [50, 50] }))

  it('wall time is the running sum of wallMs in seconds', () => {
    expect(xValues(rows, 'wall')).toEqual([2, 4, 6])
    expect(pointsOf(rows, 'testAcc', 'time', 100)).toEqual([[0.5, 10], [1, 20], [1.5, 30]])
  })

  it('smooths with a debiased EMA (weight 0 = raw; a constant stays constant)', () => {
    const pts: [number, number | null][] = [[1, 1], [2, null], [3, 3]]
    expect(ema(pts, 0)).toEqual(pts)
    expect(ema([[1, 2], [2, 2], [3, 2]], 0.9).map((p) => p[1]!.toFixed(6))).toEqual(['2.000000', '2.000000', '2.000000'])
    const s = ema(pts, 0.5)
    expect(s[0]).toEqual([1, 1])
    expect(s[1]).toEqual([2, null])
    // (0.5 * 0.5 + 0.5 * 3) / (1 - 0.25) = 2.333
    expect(s[2][1]).toBeCloseTo(7 / 3, 6)
  })

  it('client x round cells for the heatmap; stats at a glance', () => {
    const h = clientRoundCells([row(1, { clientIds: [5, 2], shares: [0.4, 0.6] }), row(2, { clientIds: [2, 9], shares: [0.5, 0.5] })])
    expect(h.clients).toEqual([2, 5, 9])
    expect(h.rounds).toEqual([1, 2])
    expect(h.cells).toEqual([[0, 1, 0.4], [0, 0, 0.6], [1, 0, 0.5], [1, 2, 0.5]])
    const s = runStats(rows)
    expect(s).toMatchObject({ finalAcc: 0.3, bestAcc: 0.3, bestRound: 3, totalBits: 300, simTime: 1.5, meanRoundTime: 0.5, wallSeconds: 6 })
  })
})
