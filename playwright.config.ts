/**
 * End-to-end tests of the app in server mode (`fedlora serve`), in Debian's Chromium (see
 * e2e/README.md). The global setup builds the renderer, writes 1,000 synthetic runs into a temp
 * runs folder and starts the server; the tests share that one server and run in order.
 */
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // list, plus the reason of each skipped test (list shows only "-")
  reporter: [['list'], ['./e2e/skip-reporter.ts']],
  outputDir: 'test-results/e2e',
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    }
  }
})
