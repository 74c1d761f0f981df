import { describe, expect, it } from 'vitest'
import type { RoundMetrics } from '../../../shared/api'
import { etaSeconds, hasSimulatedTime, pointsOf, sharesByClient } from './series'

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
