/**
 * `fedlora serve [--runs dir] [--port N] [--max-concurrent N] [--client-workers N]`: the app's API and UI over HTTP +
 * WebSocket on 127.0.0.1. Prints the URL (with the per-launch token) on stdout and serves until
 * Ctrl-C; running runs then finish their round and stop (Ctrl-C twice quits at once; the next start
 * marks them interrupted).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createApi } from '../service/api';
import { RunManager } from '../service/manager';
import { startServer } from '../server/index';

export class ServeUsageError extends Error {}

function intOption(name: string, v: string | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ServeUsageError(`--${name}: must be an integer in ${min}..${max}, got "${v}"`);
  return n;
}

/** out/renderer of the repo (or the packaged app), if it was built. */
export function builtRenderer(): string | null {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'out', 'renderer');
    if (fs.existsSync(path.join(dir, 'package.json'))) return fs.existsSync(path.join(candidate, 'index.html')) ? candidate : null;
    dir = path.dirname(dir);
  }
  return null;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { runs: { type: 'string' }, port: { type: 'string' }, 'max-concurrent': { type: 'string' }, 'client-workers': { type: 'string' } },
  });
  const port = intOption('port', values.port, 0, 65535, 0);
  const maxConcurrent = intOption('max-concurrent', values['max-concurrent'], 1, 64, 1);
  const clientWorkers = intOption('client-workers', values['client-workers'], 1, 64, 1);
  const manager = new RunManager({ runsDir: path.resolve(values.runs ?? 'runs'), maxConcurrent, clientWorkers });
  const staticDir = builtRenderer();
  const server = await startServer({ api: createApi(manager, { transport: 'http' }), host: '127.0.0.1', port, staticDir: staticDir ?? undefined });
  if (!staticDir) process.stderr.write('the UI is not built: run `npx electron-vite build` for it (the API works without it)\n');
  process.stderr.write(`runs in ${manager.runsDir}, at most ${maxConcurrent} at once, clients of each on ${clientWorkers} thread${clientWorkers > 1 ? 's' : ''}; Ctrl-C stops\n`);
  process.stdout.write(server.url + '\n');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write('stopping: running runs finish their round (Ctrl-C again to quit now)\n');
      void server.close().then(() => manager.shutdown()).then(() => resolve(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
