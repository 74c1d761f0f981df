/**
 * The Run view's charts on the synthetic TSFA run (24 clients, 20 rounds, every per-round field):
 * the chart controls change the drawn option (read from the ECharts instance), the crosshair is
 * shared, the shares heatmap, the stacked latency parts, the wall-clock phases and the per-class
 * panels render from the metrics.
 */
import { expect, test } from '@playwright/test'
import { chart, open, TSFA_RUN, watchErrors } from './helpers'

test.describe.serial('run charts', () => {
  test('smoothing, log scale and the x axis change the charts; the crosshair is shared', async ({ page }) => {
    const errors = watchErrors(page)
    await open(page, `#/run/${TSFA_RUN}`)
    await expect(page.getByTestId('run-stats')).toContainText('88.00%')
    const raw = await chart(page, 'chart-loss')
    expect(raw.option.series.map((s) => s.name)).toEqual(['train loss', 'test loss'])
    const rawTrain = raw.option.series[0].data as [number, number][]
    expect(rawTrain).toHaveLength(20)
    expect(raw.option.yAxis[0].type).toBe('value')
    expect(raw.option.xAxis[0].name).toBe('round')
    // accuracy is drawn in percent
    const acc = await chart(page, 'chart-accuracy')
    expect(acc.option.yAxis[0].name).toBe('accuracy [%]')
    expect((acc.option.series[0].data as [number, number][]).at(-1)?.[1]).toBeCloseTo(88, 6)

    // Smoothing: a debiased EMA drawn over the faint raw line
    await page.getByTestId('chart-smoothing').fill('0.8')
    await expect(page.getByTestId('chart-smoothing-value')).toHaveText('0.80')
    await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-smoothing', '0.8')
    const smooth = await chart(page, 'chart-loss')
    expect(smooth.option.series.map((s) => s.name)).toEqual(['train loss', 'train loss', 'test loss', 'test loss'])
    expect(smooth.option.series[0].lineStyle?.opacity).toBe(0.25)
    expect(smooth.option.series[0].data).toEqual(rawTrain)
    const ema = smooth.option.series[1].data as [number, number][]
    expect(ema[0][1]).toBeCloseTo(rawTrain[0][1], 9)
    let acc2 = 0, n = 0
    for (const [, y] of rawTrain.slice(0, 10)) { acc2 = 0.8 * acc2 + 0.2 * y; n++ }
    expect(ema[9][1]).toBeCloseTo(acc2 / (1 - 0.8 ** n), 9)
    expect(ema[9][1]).not.toBeCloseTo(rawTrain[9][1], 3)
    await page.getByTestId('chart-smoothing').fill('0')
    await expect.poll(async () => (await chart(page, 'chart-loss')).option.series.length).toBe(2)

    // Log scale (y)
    await page.getByTestId('chart-log').check()
    await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-log', 'y')
    expect((await chart(page, 'chart-loss')).option.yAxis[0].type).toBe('log')
    expect((await chart(page, 'chart-latency')).option.yAxis[0].type).toBe('log')
    await page.getByTestId('chart-log').uncheck()
    await expect.poll(async () => (await chart(page, 'chart-loss')).option.yAxis[0].type).toBe('value')

    // x axis: cumulative bits, simulated time, wall time (running sum of wallMs), back to round
    const firstX = async (id: string) => ((await chart(page, id)).option.series[0].data as [number, number][])[0][0]
    await page.getByTestId('x-axis-bits').check()
    await expect.poll(() => firstX('chart-loss')).toBe(1e5)
    expect((await chart(page, 'chart-loss')).option.xAxis[0].name).toContain('cumulative uplink')
    expect(await firstX('chart-phases')).toBe(1e5)
    await page.getByTestId('x-axis-time').check()
    await expect.poll(() => firstX('chart-loss')).toBe(2)
    await page.getByTestId('x-axis-wall').check()
    await expect.poll(() => firstX('chart-loss')).toBeCloseTo(0.11, 9)
    expect((await chart(page, 'chart-rho')).option.xAxis[0].name).toBe('wall-clock time [s]')
    await page.getByTestId('x-axis-round').check()
    await expect.poll(() => firstX('chart-loss')).toBe(1)

    // One crosshair: the series charts share an echarts.connect group; hovering one shows the tooltip of another
    const groups = await Promise.all(['chart-accuracy', 'chart-loss', 'chart-bits', 'chart-latency', 'chart-rho', 'chart-phases'].map(async (id) => (await chart(page, id)).group))
    expect(new Set(groups)).toEqual(new Set([`run-${TSFA_RUN}`]))
    const box = (await page.getByTestId('chart-loss').locator('.canvas').boundingBox())!
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.55)
    await expect(page.getByTestId('chart-bits').locator('.canvas').getByText(/uplink bits/)).toBeVisible()
    await expect(page.getByTestId('chart-rho').locator('.canvas').getByText(/rho/)).toBeVisible()
    expect(errors).toEqual([])
  })

  test('latency parts stacked, wall-clock phases, the shares heatmap and the per-class panels', async ({ page }) => {
    const errors = watchErrors(page)
    await open(page, `#/run/${TSFA_RUN}`)
    const lat = await chart(page, 'chart-latency')
    const stacked = lat.option.series.filter((s) => s.stack === 'round')
    expect(stacked.map((s) => s.name)).toEqual(['upload (commTime)', 'compute (computeTime)'])
    expect(stacked.every((s) => s.type === 'bar' && s.data.length === 20)).toBe(true)
    expect(lat.option.series.map((s) => s.name)).toContain('latency budget')
    await expect(page.getByTestId('upload-share')).toContainText('upload 1.0% of simulated time')
    const phases = await chart(page, 'chart-phases')
    expect(phases.option.series.map((s) => s.name)).toEqual(['plan', 'train', 'compress', 'measure', 'aggregate', 'eval'])
    expect(new Set(phases.option.series.map((s) => s.stack))).toEqual(new Set(['phases']))

    // 24 clients: a client x round heatmap (6 cells per round), no stacked view offered
    const heat = page.getByTestId('chart-shares-heatmap')
    await expect(heat).toHaveAttribute('data-rows', '24')
    await expect(heat).toHaveAttribute('data-cells', '120')
    await expect(page.getByTestId('shares-view-stacked')).toHaveCount(0)
    const h = await chart(page, 'chart-shares-heatmap')
    expect(h.option.series[0].type).toBe('heatmap')
    expect(h.option.series[0].data).toHaveLength(120)
    expect(h.option.visualMap).toHaveLength(1)
    // hover a cell: its client, round and share (the cell's pixel from the grid: left 72, right 80, top 16, bottom 48)
    const [r, c, v] = h.option.series[0].data[0] as [number, number, number]
    await heat.scrollIntoViewIfNeeded()
    const hb = (await heat.locator('.canvas').boundingBox())!
    const pw = hb.width - 72 - 80
    const ph = hb.height - 16 - 48
    await page.mouse.move(hb.x + 72 + ((r + 0.5) * pw) / 20, hb.y + 16 + ph - ((c + 0.5) * ph) / 24)
    await expect(heat.locator('.canvas').getByText(`share: ${v.toFixed(4)}`)).toBeVisible()

    // per-class accuracy and the confusion matrix of the last evaluation
    const ca = await chart(page, 'chart-class-acc')
    expect(ca.option.series[0].data).toHaveLength(10)
    expect(ca.option.xAxis[0].type).toBe('category')
    expect(ca.option.yAxis[0].name).toBe('accuracy [%]')
    expect((ca.option.series[0].data as [number, number][])[0][1]).toBeCloseTo(60, 6)
    const cm = await chart(page, 'chart-confusion')
    expect(cm.option.series[0].data).toHaveLength(100)
    await expect(page.getByTestId('chart-confusion')).toHaveAttribute('data-rows', '10')
    await expect(page.getByTestId('note-classes')).toHaveCount(0)
    expect(errors).toEqual([])
  })

  test('a run without per-class fields or channel data says so in one line', async ({ page }) => {
    const errors = watchErrors(page)
    await open(page, '#/run/20250101-000000-synthetic-0001')
    // no metrics at all: nothing to chart, the waiting panel says no round was recorded
    await expect(page.getByTestId('run-waiting')).toContainText('No round was recorded')
    expect(errors).toEqual([])
  })
})
