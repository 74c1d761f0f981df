/**
 * Removes out/ (a fresh clone's state), fills a temp runs folder with 1,000 synthetic runs, starts
 * `fedlora serve --runs <tmp> --port 0`, which must build the UI, and reads the URL (with its token) from its stdout.
 * The URL reaches the tests as E2E_URL; the returned function stops the server.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { writeSyntheticRuns } from './fixtures'

export const SYNTHETIC_RUNS = 1000

export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = path.resolve(__dirname, '..')
  const browser = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  if (!fs.existsSync(browser)) {
    throw new Error(`e2e: no Chromium at ${browser}. Install Debian's (sudo apt-get install chromium; .ci/run does) or set CHROMIUM_PATH to a Chromium/Chrome binary.`)
  }
  // A fresh clone's state: no built app. `fedlora serve` must build it (scripts/ensure-built.cjs).
  if (!process.env.E2E_KEEP_BUILD) fs.rmSync(path.join(root, 'out'), { recursive: true, force: true })
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-e2e-'))
  writeSyntheticRuns(runsDir, SYNTHETIC_RUNS)

  // --import tsx (tsx's ESM and CommonJS hooks, as `npm run serve` has them through the tsx binary);
  // the vitest suites start the CLI with the CommonJS hook alone (CLI_NODE_ARGS), so both ways are run
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--runs', runsDir, '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  server.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`server printed no URL in 60 s; stderr:\n${stderr}`)), 60_000)
    server.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/)
      if (m) {
        clearTimeout(timer)
        resolve(m[0])
      }
    })
    server.on('exit', (code) => reject(new Error(`server exited (${code}) before printing its URL; stderr:\n${stderr}`)))
  })
  if (!process.env.E2E_KEEP_BUILD && !/building the app with electron-vite/.test(stderr)) {
    server.kill('SIGKILL')
    throw new Error(`fedlora serve did not build the missing UI; stderr:\n${stderr}`)
  }
  process.env.E2E_URL = url
  process.env.E2E_RUNS_DIR = runsDir

  return async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r))
      server.kill('SIGTERM')
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    fs.rmSync(runsDir, { recursive: true, force: true })
  }
}
