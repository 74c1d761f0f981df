import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'electron-vite'

// electron-vite externalizes only `dependencies`; the native tfjs backends are optional
// (they may be absent) and must stay runtime `require`s in main, never bundled.
const pkg = JSON.parse(readFileSync(resolve(__dirname, 'package.json'), 'utf8')) as {
  optionalDependencies?: Record<string, string>
}
const optionalDeps = Object.keys(pkg.optionalDependencies ?? {})

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: { include: optionalDeps },
      // CommonJS whatever package.json's "type" says: main relies on __dirname.
      rolldownOptions: {
        // runWorker: the training worker thread the RunManager starts (src/service/runWorker.ts);
        // clientWorker: the threads a run trains its clients on with --workers (src/service/clientWorker.ts)
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          runWorker: resolve(__dirname, 'src/service/runWorker.ts'),
          clientWorker: resolve(__dirname, 'src/service/clientWorker.ts'),
        },
        output: { format: 'cjs', entryFileNames: '[name].js' }
      }
    }
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload may only require('electron'): bundle everything else, emit CommonJS.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].js' }
      }
    }
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    base: './',
    plugins: [vue()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      // electron-vite leaves the renderer unminified by default; the browser (server mode) downloads it.
      minify: true,
      // ECharts (+ zrender) is most of the bundle: its own chunk, loaded with the first chart view.
      chunkSizeWarningLimit: 700,
      rolldownOptions: {
        input: { index: resolve(__dirname, 'src/renderer/index.html') },
        output: { codeSplitting: { groups: [{ name: 'echarts', test: /[\\/]node_modules[\\/](echarts|zrender)[\\/]/ }] } }
      }
    }
  }
})
