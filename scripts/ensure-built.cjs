// Builds the app with electron-vite when out/ is missing or older than its sources: `npm start`
// (scripts/start-app.cjs) and `fedlora serve` call it, so a fresh clone leads straight to the app.
// Plain CommonJS because start-app.cjs runs before anything TypeScript is loaded.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const OUTPUTS = ['out/main/index.js', 'out/preload/index.js', 'out/renderer/index.html']
// What the bundles are made of: a change here makes out/ stale.
const SOURCES = ['src', 'electron.vite.config.ts', 'package.json']

/** Newest modification time (ms) of a file or of any file under a folder; 0 when absent. */
function newest(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false })
  if (!st) return 0
  if (!st.isDirectory()) return st.mtimeMs
  let t = 0
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.') || e.name.endsWith('.test.ts')) continue
    t = Math.max(t, newest(path.join(p, e.name)))
  }
  return t
}

/** Why out/ must be (re)built, or null when it is up to date (or there are no sources: a packaged app). */
function staleReason(root) {
  if (!fs.existsSync(path.join(root, 'src', 'renderer'))) return null
  const missing = OUTPUTS.find((f) => !fs.existsSync(path.join(root, f)))
  if (missing) return `${missing} is missing`
  const built = Math.min(...OUTPUTS.map((f) => fs.statSync(path.join(root, f)).mtimeMs))
  const src = Math.max(...SOURCES.map((s) => newest(path.join(root, s))))
  return src > built ? 'the sources changed since the last build' : null
}

/**
 * Build when stale; `log` gets one progress line. Returns { built, error }: error is set (and
 * the build's own output already printed to stderr) when the build failed.
 */
function ensureBuilt(root, log = (line) => process.stderr.write(line + '\n')) {
  const reason = staleReason(root)
  if (!reason) return { built: false, error: null }
  log(`building the app with electron-vite (${reason}; ~5-20 s)...`)
  const t0 = Date.now()
  let cli
  try {
    const pkg = require.resolve('electron-vite/package.json', { paths: [root] }) // its exports hide bin/
    cli = path.join(path.dirname(pkg), require(pkg).bin['electron-vite'])
  } catch {
    return { built: false, error: 'electron-vite is not installed: run `npm install` first' }
  }
  const r = spawnSync(process.execPath, [cli, 'build', '--logLevel', 'warn'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) return { built: false, error: `electron-vite build failed (exit ${r.status ?? r.signal})` }
  log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return { built: true, error: null }
}

module.exports = { ensureBuilt, staleReason }
