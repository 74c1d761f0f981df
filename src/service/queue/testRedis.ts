/**
 * Test helper: a throwaway redis-server on a free loopback port (no persistence, optionally with a
 * password), stopped by `stop()`. `REDIS_SERVER` is null where redis-server is not installed, so
 * tests can skip with the reason in their name.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
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

/** A throwaway CA and a server certificate for localhost/127.0.0.1 (openssl), in `dir`; null without openssl. */
export function testCertificates(dir: string): { cert: string; key: string; ca: string } | null {
  if (!which('openssl')) return null;
  const f = (n: string) => `${dir}/${n}`;
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fedlora-test-ca']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'redis.key', '-out', 'redis.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  run(['x509', '-req', '-in', 'redis.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'redis.crt', '-days', '2', '-extfile', 'ext.cnf']);
  return { cert: f('redis.crt'), key: f('redis.key'), ca: f('ca.crt') };
}

export const OPENSSL = which('openssl');

/** Start redis-server on a free loopback port (TLS only when `tls` is given); resolves once it accepts connections. */
export async function startRedis(opts: { password?: string; port?: number; tls?: { cert: string; key: string; ca: string } } = {}): Promise<TestRedis> {
  if (!REDIS_SERVER) throw new Error('redis-server is not installed (apt-get install redis-server)');
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? await freePort();
    const listen = opts.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.ca, '--tls-auth-clients', 'no']
      : ['--port', String(port)];
    const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(opts.password ? ['--requirepass', opts.password] : [])];
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
        url: `${opts.tls ? 'rediss' : 'redis'}://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}${opts.tls ? 'localhost' : '127.0.0.1'}:${port}`,
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
