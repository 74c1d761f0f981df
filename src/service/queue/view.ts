/** The pool as the app shows it (`pool.list`): the queue's URL without password and the workers' heartbeats. */
import type { PoolInfo } from '../../contract/api';
import { listWorkers } from './registry';
import { redisClient, type QueueTarget } from './url';

export class PoolView {
  private readonly redis;
  constructor(private readonly target: QueueTarget) {
    this.redis = redisClient(target);
    this.redis.on('error', () => { /* reported by list() */ });
  }

  /** The workers with a live heartbeat; Redis away: none, and the error (answers within 3 s). */
  async list(): Promise<PoolInfo> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const workers = await Promise.race([listWorkers(this.redis), new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer from Redis at ${this.target.display} within 3 s`)), 3000); })]);
      return { queue: this.target.display, workers, error: null };
    } catch (e) {
      return { queue: this.target.display, workers: [], error: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void { this.redis.disconnect(); }
}
