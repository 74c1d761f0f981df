/**
 * Run hooks that train a run's clients on a queue's workers (`executeRun`'s clientPool), for the
 * CLI's `run/resume --queue` and the app's runs under `serve --queue`. meta.json gets `queue`: the
 * URL without password, the workers that took part, which worker trained which client (round ->
 * client -> worker, last 50 rounds), jobs and bytes, after every round.
 */
import * as path from 'node:path';
import { updateMeta } from '../runs/runStore';
import type { RunHooks } from '../runner';
import { QueueClientPool } from './pool';
import type { QueueTarget } from './url';

export function queueRunHooks(target: QueueTarget, log: (line: string) => void, onJob?: (done: number, total: number, workers: number) => void): Pick<RunHooks, 'clientPool' | 'onRound'> {
  let pool: QueueClientPool | undefined;
  let dir = '';
  const record = () => {
    if (!pool || !dir) return;
    const s = pool.stats;
    updateMeta(dir, { queue: { url: target.display, workers: pool.workers(), jobs: s.jobs, reusedJobs: s.reused, bytesOut: s.bytesOut, bytesIn: s.bytesIn, placement: pool.placement() } });
  };
  return {
    clientPool: async (ctx) => {
      dir = ctx.dir;
      pool = await QueueClientPool.open({ target, runId: path.basename(ctx.dir), config: ctx.config, rank: ctx.rank, backend: ctx.backend, log, onJob });
      log(`training clients on the workers of ${target.display}`);
      updateMeta(dir, { queue: { url: target.display, workers: [] } });
      return { train: (jobs) => pool!.train(jobs), close: async () => { record(); await pool!.close(); } };
    },
    onRound: () => record(),
  };
}
