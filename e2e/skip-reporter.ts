/**
 * Beside the list reporter, which shows a skipped test as a bare "-": prints why each test was
 * skipped (its test.skip annotation), right after it and once more in a summary at the end.
 */
import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter'

export default class SkipReasonReporter implements Reporter {
  private skipped: string[] = []

  printsToStdio(): boolean {
    return true
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status !== 'skipped') return
    const reasons = test.annotations.filter((a) => (a.type === 'skip' || a.type === 'fixme') && a.description).map((a) => a.description as string)
    // no annotation: a serial group stopped at an earlier failure (Playwright counts it as "did not run")
    const why = reasons.length ? `skipped: ${reasons.join('; ')}` : 'did not run (an earlier test of its serial group failed, or test.skip() without a reason)'
    const line = `${test.titlePath().filter(Boolean).join(' › ')}: ${why}`
    this.skipped.push(line)
    process.stdout.write(`    ↳ ${line}\n`)
  }

  onEnd(_result: FullResult): void {
    if (!this.skipped.length) return
    process.stdout.write(`\n  ${this.skipped.length} skipped:\n${this.skipped.map((s) => `    ${s}\n`).join('')}`)
  }
}
