#!/usr/bin/env node
// `npm run dist [-- <electron-builder flags>]`: desktop installers with electron-builder (AppImage
// and deb on Linux, dmg on macOS, nsis on Windows; the "build" key of package.json), bundling
// configs/ and resources/ into the app's resources folder. electron-builder is fetched on demand
// (npx, from the npm registry) so that every install does not carry it; it packages the Electron
// binary that `npm start` fetched. Without that binary it says so and exits 1.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { ensureBuilt } = require('./ensure-built.cjs')

const root = path.resolve(__dirname, '..')
const BUILDER = 'electron-builder@26.0.12'

const dist = path.join(root, 'node_modules', 'electron', 'dist')
const binary = ['electron', 'electron.exe', 'Electron.app'].map((f) => path.join(dist, f)).find((f) => fs.existsSync(f))
if (!binary) {
  console.error(
    'npm run dist: no Electron binary in node_modules/electron/dist, so there is nothing to package.\n' +
      'Fetch it first with `npm start` (downloads it from github.com on first start; ELECTRON_MIRROR for a mirror),\n' +
      'or install with scripts allowed: `npm rebuild electron --ignore-scripts=false`. On this machine only the npm\n' +
      'registry is reachable, so installers cannot be built here; `npm run serve` gives the same app in a browser.'
  )
  process.exit(1)
}
const build = ensureBuilt(root)
if (build.error) {
  console.error(build.error)
  process.exit(1)
}
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'
const r = spawnSync(npx, ['--yes', BUILDER, '--publish', 'never', `--config.electronDist=${dist}`, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
