/**
 * The CLI's queue commands and options:
 *   fedlora worker --queue URL [--concurrency N] [--backend B] [--stall-ms N]
 *   fedlora run ... --queue URL, fedlora resume <dir> --queue URL (client jobs on the pool)
 * The URL is checked (form, then a connection with a short timeout) before anything is written.
 */
import { parseArgs } from 'node:util';
import { BACKENDS, type BackendPreference } from '../engine/backendNames';
import { checkReachable, parseQueueUrl, QueueUrlError, type QueueTarget } from '../service/queue/url';
import { UsageError } from './usage';

/** Parse and reach a --queue URL: a UsageError (exit 2) for a malformed one, an Error (exit 1) when Redis does not answer. */
export async function openQueueTarget(url: string): Promise<QueueTarget> {
  let target: QueueTarget;
  try { target = parseQueueUrl(url); } catch (e) {
    if (e instanceof QueueUrlError) throw new UsageError(e.message);
    throw e;
  }
  await checkReachable(target);
  return target;
}

const WORKER_USAGE = 'worker --queue redis://[user:pass@]host:port[/db] [--concurrency N] [--backend B] [--stall-ms N]';

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { queue: { type: 'string' }, concurrency: { type: 'string' }, backend: { type: 'string' }, 'stall-ms': { type: 'string' } },
  });
  if (!values.queue) throw new UsageError(`worker: --queue URL is required (${WORKER_USAGE})`);
  const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency: must be an integer in 1..64, got "${values.concurrency}"`);
  const backend = (values.backend ?? 'auto') as BackendPreference;
  if (backend !== 'auto' && !(BACKENDS as readonly string[]).includes(backend)) throw new UsageError(`--backend: must be auto or one of ${BACKENDS.join(', ')}, got "${values.backend}"`);
  const stallMs = values['stall-ms'] === undefined ? 30_000 : Number(values['stall-ms']);
  if (!Number.isInteger(stallMs) || stallMs < 1000 || stallMs > 3_600_000) throw new UsageError(`--stall-ms: must be an integer in 1000..3600000, got "${values['stall-ms']}"`);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  let target: QueueTarget;
  try { target = await openQueueTarget(values.queue); } catch (e) {
    if (e instanceof UsageError) throw e;
    process.stderr.write(`fedlora worker: ${(e as Error).message}\n`);
    return 1;
  }
  const { QueueWorker } = require('../service/queue/worker') as typeof import('../service/queue/worker'); // the runner and tfjs: only here (require: see main.ts)
  const worker = await QueueWorker.start({ target, concurrency, backend, stallMs, log });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSig = () => {
      if (stopping) { log('stopping now (the current job goes back to the queue)'); process.exit(130); }
      stopping = true;
      log('finishing the current job, then stopping (Ctrl-C again to stop now)');
      void worker.stop().then(resolve);
    };
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
  });
  log(`worker ${worker.info.id} stopped after ${worker.jobs} job(s)`);
  return 0;
}
