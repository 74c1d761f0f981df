import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, type ApiEvent, type RoundMetrics, type RunListItem } from '../../../contract/api'
import { httpClient } from './httpClient'

/** A WebSocket stand-in the test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = []
  onopen: (() => void) | null = null
  onmessage: ((m: { data: string }) => void) | null = null
  onclose: (() => void) | null = null
  onerror: (() => void) | null = null
  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  open(): void {
    this.onopen?.()
  }
  push(e: ApiEvent): void {
    this.onmessage?.({ data: JSON.stringify(e) })
  }
  close(): void {
    this.onclose?.()
  }
}

const m = (round: number): RoundMetrics => ({ round, trainLoss: 1, testAcc: 0.5, testLoss: 1, uplinkBits: 1, cumUplinkBits: round, roundTime: 0, cumTime: 0, wallMs: 1, clientIds: [], clientBits: [] })
const item = (over: Partial<RunListItem>): RunListItem => ({
  id: 'r1', name: 'r1', status: 'running', createdAt: '', method: 'none', controller: null, rank: 8, roundsDone: 0, rounds: 5,
  finalAcc: null, bestAcc: null, totalUplinkBits: 0, meanRoundTime: 0, latencyBudgetS: null, tags: [], ...over
})

describe('httpClient', () => {
  let replies: Record<string, (body: Record<string, unknown>) => { status: number; body: unknown }>
  let calls: { url: string; headers: Record<string, string>; body: Record<string, unknown> }[]

  beforeEach(() => {
    FakeSocket.all = []
    calls = []
    replies = {}
    vi.stubGlobal('WebSocket', FakeSocket)
    vi.stubGlobal('fetch', async (url: string, init: { headers: Record<string, string>; body: string }) => {
      const body = JSON.parse(init.body) as Record<string, unknown>
      calls.push({ url, headers: init.headers, body })
      const cmd = url.split('/api/')[1]
      const r = replies[cmd]?.(body) ?? { status: 404, body: { ok: false, error: { code: 'not-found', message: 'no' } } }
      return { status: r.status, json: async () => r.body }
    })
  })
  afterEach(() => vi.unstubAllGlobals())

  it('posts commands with the token and unwraps replies and errors', async () => {
    replies['config.validate'] = () => ({ status: 200, body: { ok: true, data: { ok: true, config: {} } } })
    replies['runs.create'] = () => ({ status: 400, body: { ok: false, error: { code: 'invalid-config', message: 'bad', issues: [{ path: 'lora.rank', message: 'must be >= 1' }] } } })
    const c = httpClient({ token: 'T', origin: 'http://127.0.0.1:9' })
    await expect(c.call('config.validate', { config: {} })).resolves.toEqual({ ok: true, config: {} })
    expect(calls[0]).toMatchObject({ url: 'http://127.0.0.1:9/api/config.validate', headers: { 'x-fedlora-token': 'T' }, body: { config: {} } })
    const err = await c.call('runs.create', { config: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'invalid-config', issues: [{ path: 'lora.rank', message: 'must be >= 1' }] })
  })

  it('reconnects and catches up on rounds and status changes missed while closed', async () => {
    const c = httpClient({ token: 'T', origin: 'http://127.0.0.1:9', retryDelayMs: 1 })
    const got: ApiEvent[] = []
    c.subscribe((e) => got.push(e))
    expect(FakeSocket.all[0].url).toBe('ws://127.0.0.1:9/api/events?token=T')
    FakeSocket.all[0].open()
    FakeSocket.all[0].push({ type: 'status', runId: 'r1', status: 'running', item: item({}) })
    FakeSocket.all[0].push({ type: 'round', runId: 'r1', metrics: m(1), totalRounds: 5 })
    FakeSocket.all[0].push({ type: 'round', runId: 'r1', metrics: m(1), totalRounds: 5 }) // duplicate: dropped
    FakeSocket.all[0].close()

    replies['runs.list'] = () => ({ status: 200, body: { ok: true, data: [item({ status: 'completed', roundsDone: 3 })] } })
    replies['runs.metrics'] = (b) => ({ status: 200, body: { ok: true, data: [m(2), m(3)].filter((x) => x.round > (b.since as number)) } })
    await vi.waitFor(() => expect(FakeSocket.all.length).toBe(2))
    FakeSocket.all[1].open()
    await vi.waitFor(() => expect(got.length).toBe(5))
    expect(calls.find((x) => x.url.endsWith('runs.metrics'))?.body).toEqual({ id: 'r1', since: 1 })
    expect(got.map((e) => (e.type === 'round' ? `round ${e.metrics.round}` : e.type === 'status' ? e.status : e.type))).toEqual([
      'running',
      'round 1',
      'round 2',
      'round 3',
      'completed'
    ])
    c.close()
  })
})
