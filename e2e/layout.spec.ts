/**
 * Layout at 1280x800: no view scrolls sideways, the New run form stays compact with its default
 * sections (essentials first, labels never clipped), the sweeps textarea stays in its box. Also
 * writes the screenshots docs/app.md shows (into docs/img/ with E2E_DOCS=1).
 */
import { expect, test } from '@playwright/test'
import { docShot, expectNoOverflow, open, TSFA_RUN, watchErrors } from './helpers'

test.describe.serial('layout at 1280x800', () => {
  test('no view is wider than the window', async ({ page }) => {
    const errors = watchErrors(page)
    const widths: string[] = []
    const views: [string, string, string][] = [
      ['runs', '#/runs', 'run-row'],
      ['new run', '#/new', 'config-form'],
      ['run (tsfa, 24 clients)', `#/run/${TSFA_RUN}`, 'chart-confusion'],
      ['compare', `#/compare?ids=${TSFA_RUN},20250101-000000-synthetic-0007`, 'compare-table'],
      ['sweeps', '#/sweeps', 'sweep-form'],
      ['help', '#/help', 'system-info']
    ]
    for (const [name, hash, ready] of views) {
      await open(page, hash)
      await expect(page.getByTestId(ready).first()).toBeVisible()
      widths.push(`${name} ${await expectNoOverflow(page, name)}`)
    }
    // sweep run names and tags are not cut by the table's width: each cell's text is in its title
    await open(page, '#/runs')
    const cols = await page.locator('[data-testid="runs-table"] .head [role="columnheader"]').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().right)))
    expect(Math.max(...cols)).toBeLessThanOrEqual(1280 - 20)
    console.log(`page widths at 1280 px: ${widths.join(', ')}`)
    expect(errors).toEqual([])
  })

  test('the New run form: under 3,000 px with its default sections, essentials first, no label clipped, no field twice', async ({ page }) => {
    const errors = watchErrors(page)
    await open(page, '#/new')
    await expect(page.getByTestId('validity')).toHaveText('config is valid')
    const height = await page.evaluate(() => document.scrollingElement!.scrollHeight)
    console.log(`New run page height with the default sections: ${height} px`)
    expect(height).toBeLessThan(3000)
    // the essentials come first; the dataset and model appear once (in the picker)
    await expect(page.getByTestId('section-essentials').locator('[id="cfg-federation.rounds"]')).toBeVisible()
    await expect(page.locator('[id="cfg-data.dataset"]')).toHaveCount(0)
    await expect(page.locator('[id="cfg-model.name"]')).toHaveCount(0)
    await expect(page.getByTestId('pick-dataset')).toHaveCount(1)
    const ids = await page.locator('[data-testid="config-form"] [id^="cfg-"]').evaluateAll((els) => els.map((e) => e.id))
    expect(ids.length).toBe(new Set(ids).size)
    // closed where the defaults do; open on a click
    const channel = page.getByTestId('section-channel')
    await expect(channel).not.toHaveAttribute('open', '')
    await expect(page.getByTestId('section-train')).toHaveAttribute('open', '')
    await docShot(page, 'new-run')
    await channel.locator('summary').click()
    await expect(page.locator('[id="cfg-channel.noisePsdDbmHz"]')).toBeVisible()
    // open every section: no label is clipped (e.g. "noisePsdDbmHz [dBm/Hz]")
    await page.locator('[data-testid="config-form"] details').evaluateAll((els) => els.forEach((d) => ((d as HTMLDetailsElement).open = true)))
    await expect(page.locator('[data-testid="config-form"] details:not([open])')).toHaveCount(0)
    const clipped = await page.locator('[data-testid="config-form"] .field .label').evaluateAll((els) =>
      els.filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > (e.closest('.field') as HTMLElement).getBoundingClientRect().right + 1).map((e) => e.textContent))
    expect(clipped).toEqual([])
    await expect(page.getByTestId('field-channel.noisePsdDbmHz')).toContainText('[dBm/Hz]')
    await expectNoOverflow(page, 'new run, every section open')
    // a problem inside a closed section opens it
    await page.reload()
    await page.getByTestId('config-json').fill(JSON.stringify({ name: 'x', checkpoint: { keep: 0 } }))
    await expect(page.getByTestId('section-checkpoint')).toHaveAttribute('open', '', { timeout: 10_000 })
    await expect(page.getByTestId('issue-checkpoint.keep')).toBeVisible()
    expect(errors.filter((e) => !e.includes('status of 400'))).toEqual([])
  })

  test('the sweeps textarea stays in its box', async ({ page }) => {
    await open(page, '#/sweeps')
    const spill = await page.getByTestId('sweep-spec').evaluate((t) => {
      const r = t.getBoundingClientRect()
      const p = (t.parentElement as HTMLElement).getBoundingClientRect()
      return r.right - p.right
    })
    expect(spill).toBeLessThanOrEqual(0.5)
    await expectNoOverflow(page, 'sweeps')
  })

  test('screenshots of the views for docs/app.md', async ({ page }) => {
    await open(page, '#/runs')
    await expect(page.getByTestId('run-row').first()).toBeVisible()
    await docShot(page, 'runs')
    await open(page, `#/run/${TSFA_RUN}`)
    await expect(page.getByTestId('chart-confusion')).toBeVisible()
    await page.waitForTimeout(300)
    await docShot(page, 'run')
    await page.getByTestId('chart-latency').scrollIntoViewIfNeeded()
    await page.evaluate(() => window.scrollBy(0, -60))
    await page.waitForTimeout(200)
    await docShot(page, 'run-charts')
    await page.getByTestId('chart-shares-heatmap').evaluate((e) => e.scrollIntoView({ block: 'start' }))
    await page.waitForTimeout(200)
    await docShot(page, 'run-shares-classes')
    await open(page, '#/help')
    await expect(page.getByTestId('system-info')).toBeVisible()
    await docShot(page, 'help')
  })
})
