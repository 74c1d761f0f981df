/**
 * `fedlora serve [--runs dir] [--port N] [--max-concurrent N] [--client-workers N] [--queue URL] [--no-build]`: the app's API and UI
 * over HTTP + WebSocket on 127.0.0.1. In a checkout, out/ is first (re)built when missing or older than src/
 * (`--no-build`: serve whatever build there is). Prints the URL (with the per-launch token) on stdout and serves until
 * Ctrl-C; running runs then finish their round and stop (Ctrl-C twice quits at once; the next start
 * marks them interrupted).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createApi } from '../service/api';
import { RunManager } from '../service/manager';
import { startServer } from '../server/index';
import { PoolView } from '../service/queue/view';
import { openQueueTarget } from './queue';
import { UsageError } from './usage';

function intOption(name: string, v: string | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: must be an integer in ${min}..${max}, got "${v}"`);
  return n;
}

/** out/renderer of the repo (or the packaged app), if it was built. */
export function builtRenderer(): string | null {
  const root = repoRoot();
  const candidate = root && path.join(root, 'out', 'renderer');
  return candidate && fs.existsSync(path.join(candidate, 'index.html')) ? candidate : null;
}

/** The repo's scripts/ensure-built.cjs (shared with `npm start`): rebuilds out/ when missing or older than src/. */
function buildUiIfStale(): { built: boolean; error: string | null } {
  const root = repoRoot();
  const script = root && path.join(root, 'scripts', 'ensure-built.cjs');
  if (!script || !fs.existsSync(script)) return { built: false, error: null }; // a packaged app: out/ ships built
  const { ensureBuilt } = createRequire(__filename)(script) as { ensureBuilt(root: string): { built: boolean; error: string | null } };
  return ensureBuilt(root);
}

function repoRoot(): string | null {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return null;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { runs: { type: 'string' }, port: { type: 'string' }, 'max-concurrent': { type: 'string' }, 'client-workers': { type: 'string' }, 'no-build': { type: 'boolean' }, queue: { type: 'string' } },
  });
  const port = intOption('port', values.port, 0, 65535, 0);
  const maxConcurrent = intOption('max-concurrent', values['max-concurrent'], 1, 64, 1);
  const clientWorkers = intOption('client-workers', values['client-workers'], 1, 64, 1);
  let pool: PoolView | undefined;
  if (values.queue !== undefined) {
    try {
      pool = new PoolView(await openQueueTarget(values.queue));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      process.stderr.write(`fedlora serve: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const manager = new RunManager({ runsDir: path.resolve(values.runs ?? 'runs'), maxConcurrent, clientWorkers, clientQueue: values.queue });
  const build = values['no-build'] ? { built: false, error: null } : buildUiIfStale();
  const staticDir = builtRenderer();
  const server = await startServer({ api: createApi(manager, { transport: 'http', pool: pool && (() => pool.list()) }), host: '127.0.0.1', port, staticDir: staticDir ?? undefined });
  if (!staticDir) process.stderr.write(`the UI is not built${build.error ? ` (${build.error})` : ''}: \`npx electron-vite build\` builds it; the API works without it\n`);
  else if (build.error) process.stderr.write(`serving the previous UI build: ${build.error}\n`);
  process.stderr.write(`runs in ${manager.runsDir}, at most ${maxConcurrent} at once, clients of each on ${pool ? `the workers of ${(await pool.list()).queue}` : `${clientWorkers} thread${clientWorkers > 1 ? 's' : ''}`}; Ctrl-C stops\n`);
  process.stdout.write(server.url + '\n');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write('stopping: running runs finish their round (Ctrl-C again to quit now)\n');
      void server.close().then(() => manager.shutdown()).then(() => { pool?.close(); resolve(0); });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
