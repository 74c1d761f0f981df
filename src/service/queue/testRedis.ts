/**
 * Test helper: a throwaway redis-server on a free loopback port (no persistence, optionally with a
 * password), stopped by `stop()`. `REDIS_SERVER` is null where redis-server is not installed, so
 * tests can skip with the reason in their name.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

function which(cmd: string): string | null {
  try { return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null; } catch { return null; }
}

export const REDIS_SERVER = which('redis-server');

/** A port the OS reports free on 127.0.0.1 (another process may take it before us; start() retries). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

export interface TestRedis {
  port: number;
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Start redis-server on a free loopback port; resolves once it accepts connections. */
export async function startRedis(opts: { password?: string; port?: number } = {}): Promise<TestRedis> {
  if (!REDIS_SERVER) throw new Error('redis-server is not installed (apt-get install redis-server)');
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(opts.password ? ['--requirepass', opts.password] : [])];
    const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      proc.stdout!.on('data', (d) => { out += d; if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve(true); } });
      proc.once('exit', () => { clearTimeout(timer); resolve(false); });
    });
    if (ready) {
      proc.stdout!.resume();
      return {
        port, proc,
        url: `redis://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`,
        stop: () => new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) { resolve(); return; }
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        }),
      };
    }
    proc.kill('SIGKILL');
    if (attempt >= 3 || opts.port) throw new Error(`redis-server did not start on port ${port}: ${out.slice(-500)}`);
  }
}
