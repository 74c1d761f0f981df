/** Shared steps of the e2e specs: the server URL, console-error watch, the tiny-run form fill, chart inspection, layout checks, screenshots. */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { expect, type Page } from '@playwright/test'

export const URL = (): string => {
  const u = process.env.E2E_URL
  if (!u) throw new Error('E2E_URL is not set: run through playwright.config.ts (its global setup starts the server)')
  return u
}
export const SHOTS = 'test-results/e2e/screens'
/** With E2E_DOCS=1 the documentation screenshots are (re)written into docs/img/ (docs/app.md shows them). */
export const DOC_SHOTS = process.env.E2E_DOCS ? path.resolve(__dirname, '..', 'docs', 'img') : SHOTS

/** The synthetic TSFA run with every per-round field (fixtures.ts). */
export const TSFA_RUN = '20250101-000000-synthetic-0000'

/** Console errors and uncaught exceptions of the page, checked at the end of each test. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  return errors
}

export async function open(page: Page, hash = ''): Promise<void> {
  await page.goto(URL() + hash)
}

export const field = (page: Page, p: string) => page.locator(`[id="cfg-${p}"]`)

/** Fills the New run form with a tiny config (seconds to train) and presses Start/Queue. */
export async function createTinyRun(page: Page, name: string, rounds = 3, seed = 0, preset = 'quick', localSteps = 2): Promise<void> {
  await open(page, '#/new')
  await expect(page.getByTestId('config-form')).toBeVisible()
  await expect(page.getByTestId('preset-select')).toHaveValue('quick')
  if (preset !== 'quick') {
    await page.getByTestId('preset-select').selectOption(preset)
    await expect(page.getByTestId('preset-select')).toHaveValue(preset)
  }
  const values: Record<string, string> = {
    name,
    seed: String(seed),
    'data.trainSamples': '200',
    'data.testSamples': '100',
    'federation.rounds': String(rounds),
    'federation.numClients': '4',
    'federation.clientsPerRound': '2',
    'train.localSteps': String(localSteps)
  }
  for (const [p, v] of Object.entries(values)) await field(page, p).fill(v)
  await expect(page.getByTestId('validity')).toHaveText('config is valid')
  await expect(page.getByTestId('config-json')).toHaveValue(new RegExp(`"localSteps": ${localSteps}\\b`))
  await page.getByTestId('create-start').click()
  await expect(page.getByTestId('run-view')).toBeVisible()
  await expect(page.getByTestId('run-name')).toHaveText(name)
}

export interface ChartState {
  group: string | null
  option: {
    series: { name: string; type: string; data: unknown[]; stack?: string; lineStyle?: { opacity?: number } }[]
    xAxis: { name: string; type: string }[]
    yAxis: { name: string; type: string; max?: number }[]
    parallelAxis?: { name: string; type: string }[]
    visualMap?: unknown[]
  }
}

/** The ECharts option of the chart in [data-testid=testid] (through the app's inspection hook, echarts.getInstanceByDom). */
export async function chart(page: Page, testid: string): Promise<ChartState> {
  await expect(page.getByTestId(testid).locator('.canvas')).toBeVisible()
  const s = await page.evaluate((id) => window.fedloraChart?.(id) ?? null, testid)
  if (!s) throw new Error(`no chart in [data-testid=${testid}]`)
  return s as unknown as ChartState
}

/** Nothing wider than the 1280 px window: the page never scrolls sideways. */
export async function expectNoOverflow(page: Page, what: string): Promise<number> {
  const w = await page.evaluate(() => document.scrollingElement!.scrollWidth)
  expect(w, `${what}: page width ${w} px at a 1280 px window`).toBeLessThanOrEqual(1280)
  return w
}

/** A 1280x800 screenshot of the window (not the full page): small PNGs for the docs. */
export async function docShot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(DOC_SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(DOC_SHOTS, `${name}.png`) })
}

declare global {
  interface Window {
    fedloraChart?: (testid: string) => unknown
  }
}
