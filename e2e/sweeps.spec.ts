/**
 * A sweep made with the Sweeps form (base preset, fields with values, seeds): the JSON beside it
 * follows the form; created and queued, its two tiny runs train, and its results give a table with
 * a column per varied field (sortable) and a parallel-coordinates chart.
 */
import { expect, test } from '@playwright/test'
import { chart, docShot, expectNoOverflow, open, watchErrors } from './helpers'

test('a sweep from the form: results table (one column per varied field, sortable) and parallel coordinates', async ({ page }) => {
  const errors = watchErrors(page)
  await open(page, '#/sweeps')
  const form = page.getByTestId('sweep-form')
  await expect(form).toBeVisible()
  await page.getByTestId('sweep-form-name').fill('e2e-form')
  await expect(page.getByTestId('sweep-form-base')).toHaveValue('quick')
  const rows: [string, string][] = [
    ['compression.method', 'none, soft'],
    ['compression.rho', '0.5'],
    ['data.trainSamples', '200'],
    ['data.testSamples', '100'],
    ['federation.rounds', '2'],
    ['federation.numClients', '4'],
    ['federation.clientsPerRound', '2'],
    ['train.localSteps', '1']
  ]
  for (let i = 0; i < rows.length; i++) {
    if (i >= (await page.getByTestId('sweep-form-row').count())) await page.getByTestId('sweep-form-add').click()
    await page.getByTestId(`sweep-form-path-${i}`).fill(rows[i][0])
    await page.getByTestId(`sweep-form-values-${i}`).fill(rows[i][1])
  }
  await page.getByTestId('sweep-form-seeds').fill('0')
  await expect(page.getByTestId('sweep-form-count')).toHaveText('2 runs')
  const spec = JSON.parse(await page.getByTestId('sweep-spec').inputValue())
  expect(spec).toEqual({
    name: 'e2e-form',
    base: 'quick',
    grid: { 'compression.method': ['none', 'soft'] },
    variants: [{ label: '', set: { 'compression.rho': 0.5, 'data.trainSamples': 200, 'data.testSamples': 100, 'federation.rounds': 2, 'federation.numClients': 4, 'federation.clientsPerRound': 2, 'train.localSteps': 1, seed: 0 } }]
  })
  await page.getByTestId('sweep-create-start').click()

  const results = page.getByTestId('sweep-results')
  await expect(results).toHaveAttribute('data-sweep', 'e2e-form')
  await expect(results.getByTestId('sweep-result-row')).toHaveCount(2)
  // one column per varied field: only compression.method varies
  await expect(results.getByTestId('sweep-col-varied')).toHaveCount(1)
  await expect(results.getByTestId('sweep-col-varied')).toHaveAttribute('data-path', 'compression.method')
  // both runs train (2 rounds each, one after the other)
  await expect(page.locator('[data-testid="sweep-row"][data-sweep="e2e-form"]')).toContainText('2 completed', { timeout: 120_000 })
  const par = page.getByTestId('sweep-parallel')
  await expect(par).toHaveAttribute('data-lines', '2')
  const p = await chart(page, 'sweep-parallel')
  expect(p.option.parallelAxis?.map((a) => a.name)).toEqual(['compression.method', 'final acc [%]', 'uplink [bit]', 'mean latency [s]'])
  expect(p.option.parallelAxis?.[0].type).toBe('category')
  expect(p.option.series[0].type).toBe('parallel')
  expect(p.option.series[0].data).toHaveLength(2)

  // sortable: most uplink bits first is the dense run, fewest first the soft one (rho 0.5)
  await results.getByTestId('sweep-sort-totalUplinkBits').click()
  await expect(results.getByTestId('sweep-result-row').first()).toContainText('none')
  await results.getByTestId('sweep-sort-totalUplinkBits').click()
  await expect(results.getByTestId('sweep-result-row').first()).toContainText('soft')
  await expectNoOverflow(page, 'sweeps with results')
  await par.scrollIntoViewIfNeeded()
  await docShot(page, 'sweeps')
  expect(errors).toEqual([])
})
