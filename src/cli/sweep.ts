/**
 * `fedlora sweep --config <grid.json> [--out dir] [--parallel N]`: plan, create and run a sweep on
 * the RunManager (the app's scheduler), N runs at once (default: cores), each in a worker thread,
 * overall progress and ETA on stderr; rerunning the same command
 * resumes a half-done sweep. Prints the sweep folder as the last line of stdout. With --queue URL every
 * run is a job executed whole by a `fedlora worker`; the run directories are written here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { files, readJson, type RunSummary } from '../service/runs/runStore';
import { materializeSweep, planSweep, SweepError, type SweepSpec } from '../service/sweep';
import { versions } from '../service/versions';
import { RunManager } from '../service/manager';
import { exportReport } from '../service/report';
import { QueueRunDispatcher } from '../service/queue/runs';
import { openQueueTarget } from './queue';
import { UsageError } from './usage';

function countRounds(dir: string): number {
  try { return fs.readFileSync(files(dir).metrics, 'utf8').split('\n').filter(Boolean).length; } catch { return 0; }
}

/**
 * Train the runs on a RunManager in this process (the scheduler the app and `serve` use), at most
 * `parallel` at once, each in its own worker thread; resolves when all are done. Ctrl-C lets the
 * running runs finish their round (a rerun resumes them), a second Ctrl-C stops at once.
 */
async function runLocally(outDir: string, ids: string[], parallel: number): Promise<void> {
  const manager = new RunManager({ runsDir: outDir, maxConcurrent: parallel });
  let interrupts = 0;
  const onSigint = () => { if (++interrupts > 1) process.exit(130); void manager.shutdown(); };
  process.on('SIGINT', onSigint);
  manager.subscribe((e) => { if (e.type === 'status' && e.status === 'failed') process.stderr.write(`\n${e.runId} failed: ${e.item.error ?? ''}\n`); });
  try {
    for (const id of ids) {
      try {
        if (manager.status(id) === 'created') manager.start(id); else manager.resume(id);
      } catch (e) {
        process.stderr.write(`\n${id} not started: ${(e as Error).message}\n`);
      }
    }
    await manager.whenIdle();
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function sweepCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string' }, out: { type: 'string' }, parallel: { type: 'string' }, queue: { type: 'string' } } });
  if (!values.config) throw new UsageError('sweep: --config <grid.json> is required');
  const file = path.resolve(values.config);
  if (!fs.existsSync(file)) throw new UsageError(`--config: no such file ${file}`);
  let spec: SweepSpec;
  try { spec = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`); }
  const parallel = values.parallel === undefined ? os.cpus().length : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel: must be an integer >= 1, got "${values.parallel}"`);
  let dispatcher: QueueRunDispatcher | undefined;
  if (values.queue !== undefined) {
    try {
      dispatcher = await QueueRunDispatcher.open({ target: await openQueueTarget(values.queue), log: (l) => process.stderr.write(`${l}\n`) });
    } catch (e) {
      if (e instanceof UsageError) throw e;
      process.stderr.write(`fedlora sweep: ${(e as Error).message}\n`);
      return 1;
    }
  }
  try {
    return await runSweep(file, spec, values.out, parallel, dispatcher);
  } finally {
    await dispatcher?.close();
  }
}

/** Run the sweep's runs: as child processes here, or (with a dispatcher) as jobs on the queue's workers, all at once. */
async function runSweep(file: string, spec: SweepSpec, out: string | undefined, parallel: number, dispatcher?: QueueRunDispatcher): Promise<number> {
  let planned;
  try {
    planned = planSweep(spec, path.dirname(file));
  } catch (e) {
    if (e instanceof SweepError) { for (const i of e.issues) process.stderr.write(`${path.basename(file)}: ${i.path}: ${i.message}\n`); return 2; }
    throw e;
  }
  const outDir = path.resolve(out ?? path.join('runs', `sweep-${(spec.name ?? path.basename(file, '.json')).replace(/[^A-Za-z0-9.-]+/g, '-')}`));
  let runs;
  try { runs = materializeSweep(outDir, spec, planned, versions(), os.cpus().length); } catch (e) {
    if (e instanceof SweepError) { process.stderr.write(e.message + '\n'); return 2; }
    throw e;
  }
  const todo = runs.filter((r) => r.status !== 'completed');
  const totalRounds = runs.reduce((s, r) => s + r.run.config.federation.rounds, 0);
  process.stderr.write(`sweep ${outDir}: ${runs.length} runs (${runs.length - todo.length} already complete), ${dispatcher ? 'on the queue\'s workers' : `${parallel} in parallel`}\n`);
  const t0 = Date.now(), done0 = runs.reduce((s, r) => s + countRounds(r.dir), 0);
  const tick = setInterval(() => {
    const done = runs.reduce((s, r) => s + countRounds(r.dir), 0);
    const rate = (done - done0) / ((Date.now() - t0) / 1000);
    const eta = rate > 0 ? Math.round((totalRounds - done) / rate) : NaN;
    const line = `rounds ${done}/${totalRounds} (${((100 * done) / totalRounds).toFixed(0)}%)  eta ${Number.isNaN(eta) ? '?' : `${Math.floor(eta / 60)}m${String(eta % 60).padStart(2, '0')}s`}`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  }, process.stderr.isTTY ? 1000 : 15000);
  if (dispatcher) {
    await Promise.all(todo.map((r) => dispatcher.run(r.dir).catch((e: Error) => {
      process.stderr.write(`\n${path.basename(r.dir)} failed: ${e.message}\n`);
    })));
  } else {
    await runLocally(outDir, todo.map((r) => path.basename(r.dir)), parallel);
  }
  clearInterval(tick);
  const summaries = runs.map((r) => (fs.existsSync(files(r.dir).summary) ? readJson<RunSummary>(files(r.dir).summary) : null));
  const table = runs.map((r, i) => {
    const s = summaries[i];
    return `${r.run.id.padEnd(40)} ${(s?.status ?? 'missing').padEnd(10)} acc ${s?.finalAcc == null ? 'n/a' : (100 * s.finalAcc).toFixed(2) + '%'}  bits ${s?.totalUplinkBits ?? 'n/a'}`;
  });
  process.stderr.write(`\n${table.join('\n')}\n`);
  const completed = runs.filter((_, i) => summaries[i]?.status === 'completed').map((r) => r.dir);
  const failures = runs.length - completed.length;
  if (completed.length) {
    try {
      const rep = await exportReport(completed, { outDir: path.join(outDir, 'report'), formats: ['html', 'csv', 'json', 'tex', 'md'] });
      process.stderr.write(`comparison report of ${completed.length} runs: ${path.join(rep.dir, 'report.html')}\n`);
    } catch (e) {
      process.stderr.write(`comparison report not written: ${(e as Error).message}\n`);
    }
  }
  process.stdout.write(outDir + '\n');
  return failures ? 1 : 0;
}
