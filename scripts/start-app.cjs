#!/usr/bin/env node
// `npm start`: launch the desktop app, building it first when out/ is missing.
const { spawnSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')

function electronBinary() {
  try {
    const bin = require('electron') // the binary's path, or throws when it was never downloaded
    return typeof bin === 'string' && fs.existsSync(bin) ? bin : null
  } catch {
    return null
  }
}

const bin = electronBinary()
if (!bin) {
  console.error(
    'Electron binary not installed (ELECTRON_SKIP_BINARY_DOWNLOAD?). ' +
      'Install it with `npm rebuild electron` / `node node_modules/electron/install.js`, ' +
      'or use server mode: `npm run serve` (opens the same UI in a browser).'
  )
  process.exit(1)
}

const built = ['out/main/index.js', 'out/preload/index.js', 'out/renderer/index.html'].every((f) =>
  fs.existsSync(path.join(root, f))
)
if (!built) {
  const cli = require.resolve('electron-vite/bin/electron-vite.js', { paths: [root] })
  const result = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

const env = { ...process.env }
delete env.ELECTRON_RUN_AS_NODE // would make the binary behave as plain Node
const child = spawn(bin, [root, ...process.argv.slice(2)], { cwd: root, env, stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)))
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
