/**
 * The app over a queue (`serve --queue`): the RunManager's runs train their clients on the pool's
 * workers, and `pool.list` shows the workers from their heartbeats (checked: a forged row is
 * dropped). Real redis-server and a real `fedlora worker` process.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createApi } from '../api';
import { RunManager } from '../manager';
import { executeRun } from '../runner';
import { files, readJson } from '../runs/runStore';
import { deterministicRows, newRunDir, tinyConfig } from '../testFixtures';
import { CLI_NODE_ARGS } from '../workers';
import { workerKey } from './registry';
import { REDIS_SERVER, startRedis } from './testRedis';
import { parseQueueUrl } from './url';
import { PoolView } from './view';

const root = path.resolve(__dirname, '../../..');
const why = REDIS_SERVER ? '' : ' (skipped: redis-server is not installed; apt-get install redis-server)';

describe.skipIf(!REDIS_SERVER)(`serve --queue: the run manager trains clients on the pool, pool.list shows it${why}`, () => {
  it('a run queued in the app trains on the worker with the local run\'s metrics; pool.list lists the worker, busy/idle and jobs done', async () => {
    const r = await startRedis();
    const worker = spawn(process.execPath, [...CLI_NODE_ARGS, 'worker', '--queue', r.url], { cwd: root, env: { ...process.env, FEDLORA_BACKEND: 'wasm' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    worker.stderr!.on('data', (d) => { log += d; });
    const view = new PoolView(parseQueueUrl(r.url));
    const m = new RunManager({ runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-mgrq-')), clientQueue: r.url });
    try {
      const api = createApi(m, { transport: 'http', pool: () => view.list() });
      while (!/ joined redis/.test(log)) await new Promise((res) => setTimeout(res, 100));
      // a forged heartbeat (not a number where one is due) is not listed
      const redis = new Redis({ host: '127.0.0.1', port: r.port });
      await redis.hset(workerKey('forged'), { id: 'forged', host: 'x', pid: 'not-a-pid', backend: 'wasm', concurrency: 1, busy: 0, jobsDone: 0, lastSeen: 0 });
      redis.disconnect();
      const before = await api.call('pool.list', undefined);
      expect(before).toEqual({ queue: `redis://127.0.0.1:${r.port}/0`, error: null, workers: [expect.objectContaining({ pid: worker.pid, backend: 'wasm', busy: 0, jobsDone: 0 })] });

      const item = m.create(tinyConfig(), { start: 'now' });
      await m.whenIdle();
      const dir = path.join(m.runsDir, item.id);
      expect(readJson<{ status: string }>(files(dir).summary).status).toBe('completed');
      const local = newRunDir(tinyConfig());
      await executeRun(local);
      expect(deterministicRows(dir)).toEqual(deterministicRows(local));
      const meta = readJson<{ queue: { url: string; workers: { pid: number; jobs: number }[]; placement: Record<string, Record<string, string>> } }>(files(dir).meta);
      expect(meta.queue.workers).toEqual([expect.objectContaining({ pid: worker.pid, jobs: 4 })]); // 2 rounds x 2 clients
      // which worker trained which client, per round (the clients the rows name)
      const rows = deterministicRows(dir) as { round: number; clientIds: number[] }[];
      const id = (meta.queue.workers[0] as unknown as { id: string }).id;
      expect(meta.queue.placement).toEqual(Object.fromEntries(rows.map((x) => [String(x.round), Object.fromEntries(x.clientIds.map((c) => [String(c), id]))])));
      expect(fs.readFileSync(path.join(dir, 'run.log'), 'utf8')).toContain('client jobs 2/2 done on 1 worker');
      const after = await view.list();
      expect(after.workers[0]).toMatchObject({ pid: worker.pid, busy: 0, jobsDone: 4 });
      // without a queue: the app says so
      expect(await createApi(m, { transport: 'http' }).call('pool.list', undefined)).toEqual({ queue: null, workers: [], error: null });
    } finally {
      await m.shutdown(5_000);
      view.close();
      worker.kill('SIGKILL');
      await r.stop();
    }
  }, 300_000);
});
