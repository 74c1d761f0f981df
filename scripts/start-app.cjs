#!/usr/bin/env node
// `npm start`: launch the desktop app. The install runs no package scripts (.npmrc), so the
// Electron binary is fetched here on first start; the app is (re)built when out/ is stale.
const { spawnSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { ensureBuilt } = require('./ensure-built.cjs')

const root = path.resolve(__dirname, '..')

function electronBinary() {
  try {
    delete require.cache[require.resolve('electron', { paths: [root] })]
    const bin = require(require.resolve('electron', { paths: [root] })) // the binary's path; throws when never downloaded
    return typeof bin === 'string' && fs.existsSync(bin) ? bin : null
  } catch {
    return null
  }
}

let bin = electronBinary()
if (!bin) {
  let installer = null
  try {
    installer = require.resolve('electron/install.js', { paths: [root] })
  } catch {
    /* the electron package itself is missing */
  }
  if (installer && !process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    console.error('Fetching the Electron binary (first start only, ~100 MB from github.com)...')
    spawnSync(process.execPath, [installer], { cwd: root, stdio: 'inherit' })
    bin = electronBinary()
  }
  if (!bin) {
    console.error(
      'The desktop app needs the Electron binary, which could not be fetched' +
        (installer ? ' (no access to github.com, or ELECTRON_SKIP_BINARY_DOWNLOAD is set)' : ' (run `npm install` first)') +
        '.\nUse the same app in a browser instead: `npm run serve`, then open the URL it prints.' +
        '\nWhere a mirror is reachable: ELECTRON_MIRROR=https://<mirror>/electron/ npm start'
    )
    process.exit(1)
  }
}

const build = ensureBuilt(root)
if (build.error) {
  console.error(build.error)
  process.exit(1)
}

const env = { ...process.env }
delete env.ELECTRON_RUN_AS_NODE // would make the binary behave as plain Node
const child = spawn(bin, [root, ...process.argv.slice(2)], { cwd: root, env, stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)))
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
