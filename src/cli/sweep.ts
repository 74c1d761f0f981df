/**
 * `fedlora sweep --config <grid.json> [--out dir] [--parallel N]`: plan, create and run a sweep with
 * N child processes (default: cores), overall progress and ETA on stderr; rerunning the same command
 * resumes a half-done sweep. Prints the sweep folder as the last line of stdout. With --queue URL every
 * run is a job executed whole by a `fedlora worker`; the run directories are written here.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { files, readJson, type RunSummary } from '../service/runs/runStore';
import { materializeSweep, planSweep, SweepError, type SweepSpec } from '../service/sweep';
import { versions } from '../service/versions';
import { exportReport } from '../service/report';
import { QueueRunDispatcher } from '../service/queue/runs';
import { openQueueTarget, QueueUsageError } from './queue';

export class SweepUsageError extends Error {}

function countRounds(dir: string): number {
  try { return fs.readFileSync(files(dir).metrics, 'utf8').split('\n').filter(Boolean).length; } catch { return 0; }
}

const EXIT_LOCKED = 75;

/** Run `fedlora resume <dir>` in a child process; a run still locked by a dying process is retried. */
async function runChild(dir: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const code = await runChildOnce(dir);
    if (code !== EXIT_LOCKED || attempt >= 20) return code;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function runChildOnce(dir: string): Promise<number> {
  return new Promise((resolve) => {
    const args = [...process.execArgv, process.argv[1], 'resume', dir];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FEDLORA_PARENT_PID: String(process.pid) } });
    let err = '';
    child.stderr.on('data', (d) => { err = (err + d).slice(-2000); });
    child.on('exit', (code) => {
      if (code !== 0 && code !== EXIT_LOCKED) process.stderr.write(`\n${path.basename(dir)} failed (exit ${code}): ${err.trim().split('\n').pop()}\n`);
      resolve(code ?? 1);
    });
  });
}

export async function sweepCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string' }, out: { type: 'string' }, parallel: { type: 'string' }, queue: { type: 'string' } } });
  if (!values.config) throw new SweepUsageError('sweep: --config <grid.json> is required');
  const file = path.resolve(values.config);
  if (!fs.existsSync(file)) throw new SweepUsageError(`--config: no such file ${file}`);
  let spec: SweepSpec;
  try { spec = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new SweepUsageError(`${file}: not valid JSON (${(e as Error).message})`); }
  const parallel = values.parallel === undefined ? os.cpus().length : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw new SweepUsageError(`--parallel: must be an integer >= 1, got "${values.parallel}"`);
  let dispatcher: QueueRunDispatcher | undefined;
  if (values.queue !== undefined) {
    try {
      dispatcher = await QueueRunDispatcher.open({ target: await openQueueTarget(values.queue), log: (l) => process.stderr.write(`${l}\n`) });
    } catch (e) {
      if (e instanceof QueueUsageError) throw new SweepUsageError(e.message);
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
  let failures = 0;
  const queue = [...todo];
  if (dispatcher) {
    await Promise.all(queue.map((r) => dispatcher.run(r.dir).then((s) => { if (s.status !== 'completed') failures++; }, (e: Error) => {
      failures++;
      process.stderr.write(`\n${path.basename(r.dir)} failed: ${e.message}\n`);
    })));
  } else {
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) if ((await runChild(next.dir)) !== 0) failures++;
    }));
  }
  clearInterval(tick);
  const table = runs.map((r) => {
    const s = fs.existsSync(files(r.dir).summary) ? readJson<RunSummary>(files(r.dir).summary) : null;
    return `${r.run.id.padEnd(40)} ${(s?.status ?? 'missing').padEnd(10)} acc ${s?.finalAcc == null ? 'n/a' : (100 * s.finalAcc).toFixed(2) + '%'}  bits ${s?.totalUplinkBits ?? 'n/a'}`;
  });
  process.stderr.write(`\n${table.join('\n')}\n`);
  const completed = runs.filter((r) => fs.existsSync(files(r.dir).summary) && readJson<RunSummary>(files(r.dir).summary).status === 'completed').map((r) => r.dir);
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
