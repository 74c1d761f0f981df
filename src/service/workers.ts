/** Starting worker threads from source (tsx) or from the built bundle. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * How tests, benches and scripts start the CLI from source as one node process (a SIGKILL reaches
 * it; the tsx binary would fork a child): node with tsx's CommonJS hook alone, as a `.ts` worker
 * below, with no ESM-loader hook thread per process. `npm run fedlora` (tsx) runs the same code.
 */
export const CLI_NODE_ARGS = ['--require', 'tsx/cjs', path.resolve(__dirname, '../cli/main.ts')];

/** `<name>.ts` next to this file when running from source, else the built `<name>.js`. */
export function workerEntry(dir: string, name: string): string {
  const ts = path.join(dir, `${name}.ts`);
  return fs.existsSync(ts) ? ts : path.join(dir, `${name}.js`);
}

/** A `.ts` entry runs through tsx's CommonJS hook (registered inside the worker), a `.js` one as is. */
export function spawnWorker(entry: string, data: unknown): Worker {
  if (/\.[cm]?ts$/.test(entry)) {
    const tsx = require.resolve('tsx/cjs');
    return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(entry)});`, { eval: true, workerData: data });
  }
  return new Worker(entry, { workerData: data });
}
