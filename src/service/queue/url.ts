/**
 * The `--queue` URL: redis://[user:pass@]host:port[/db] or rediss:// (TLS), parsed into the
 * connection options BullMQ hands to ioredis, and a display form without the password (what
 * meta.json and logs record). Connecting is checked once up front with a short timeout, so a bad
 * address fails with a clear message before anything is written.
 */
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

export class QueueUrlError extends Error {
  constructor(message: string) { super(`--queue: ${message}`); this.name = 'QueueUrlError'; }
}

export interface QueueTarget {
  /** ioredis options (BullMQ sets maxRetriesPerRequest for its blocking connections itself). */
  options: RedisOptions;
  /** The URL without its password: safe for logs and meta.json. */
  display: string;
  tls: boolean;
}

/** Parse a --queue URL; QueueUrlError names what is wrong and the expected form. */
export function parseQueueUrl(raw: string): QueueTarget {
  const form = 'expected redis://[user:password@]host:port[/db] or rediss://... (TLS)';
  let u: URL;
  try { u = new URL(raw); } catch { throw new QueueUrlError(`"${raw.replace(/:[^:@/]*@/, ':***@')}" is not a URL; ${form}`); }
  const tls = u.protocol === 'rediss:';
  if (u.protocol !== 'redis:' && !tls) throw new QueueUrlError(`scheme "${u.protocol.replace(/:$/, '')}" is not supported; ${form}`);
  if (!u.hostname) throw new QueueUrlError(`no host; ${form}`);
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new QueueUrlError(`port "${u.port}" must be 1..65535; ${form}`);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isInteger(db) || db < 0 || db > 15) throw new QueueUrlError(`database "${dbText}" must be an integer 0..15; ${form}`);
  if (u.search || u.hash) throw new QueueUrlError(`query and fragment are not supported ("${u.search}${u.hash}"); ${form}`);
  const username = decodeURIComponent(u.username) || undefined;
  const password = decodeURIComponent(u.password) || undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const options: RedisOptions = { host, port, db, username, password, ...(tls ? { tls: { servername: host } } : {}) };
  const display = `${u.protocol}//${username ? `${encodeURIComponent(username)}@` : ''}${u.host}/${db}`;
  return { options, display, tls };
}

/** BullMQ's connection options for a target (its blocking connections need maxRetriesPerRequest null). */
export function bullConnection(target: QueueTarget): ConnectionOptions {
  return { ...target.options, maxRetriesPerRequest: null } as ConnectionOptions;
}

/** A plain ioredis client for the keys next to BullMQ's (run records, heartbeats). */
export function redisClient(target: QueueTarget, log?: (line: string) => void): Redis {
  const r = new Redis({ ...target.options, maxRetriesPerRequest: null });
  r.on('error', (e) => log?.(`redis: ${e.message}`));
  return r;
}

/** Connect once with a short timeout and no retries; throws an Error naming the address and the cause. */
export async function checkReachable(target: QueueTarget, timeoutMs = 5000): Promise<void> {
  const client = new Redis({ ...target.options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let first: Error | undefined; // an AUTH refusal arrives as an 'error' event; connect()/ping() then only say "closed"
  client.on('error', (e: Error) => { first ??= e; });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const msg = (first ?? (e as Error)).message;
    const hint = /NOAUTH|WRONGPASS|invalid password|AUTH/i.test(msg) ? ' (wrong or missing password: put it in the URL, redis://:PASSWORD@host:port)' : '';
    throw new Error(`cannot reach Redis at ${target.display}: ${msg}${hint}`);
  } finally {
    client.disconnect();
  }
}
