/**
 * `fedlora`: the headless CLI over the same service the app uses.
 *   fedlora run --config <file.json> [--out <dir>] [--seed N] [--rounds N] [--name S]
 *   fedlora serve [--runs <dir>] [--port N] [--max-concurrent N] [--client-workers N] [--no-build]
 * Exit codes: 0 ok, 1 run failed, 2 bad input (config, arguments).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createRunDir, files, isSymlink, readRunConfig } from '../service/runs/runStore';
import { jsonProblem } from '../service/runs/runDirs';
import { cleanStaleTemps } from '../service/runs/fsutil';
import { ConfigError, type ExperimentConfig } from '../engine/config';
import { validateRunConfig } from '../service/validate';
import { RunLockedError } from '../service/runs/lock';
import { versions } from '../service/versions';
import { Progress } from './progress';
import type { QueueTarget } from '../service/queue/url';
import type { RunHooks } from '../service/runner';
// Each command loads its modules when it runs (the runner and tfjs, the server, the report's charts,
// BullMQ): a command, or a bad argument, pays only for what it uses. They load with require, not
// import(): the CLI is never bundled, and require needs only tsx's CommonJS hook, so the CLI also runs
// as `node --require tsx/cjs src/cli/main.ts` (what the tests spawn: no ESM-hook thread per process;
// an import() of a .ts file needs that thread).
import { UsageError } from './usage';

/** Exit code when another process holds the run's lock (EX_TEMPFAIL): try again later. */
export const EXIT_LOCKED = 75;

const USAGE = `usage: fedlora <command> [options]

commands:
  run --config <file.json> [--out <dir>] [--seed N] [--rounds N] [--name S] [--workers N] [--queue URL]
      run one experiment; prints the run directory as the last line of stdout; --workers trains
      each round's clients on N threads (same metrics, faster on several cores); --queue
      redis://[user:pass@]host:port[/db] (or rediss://) trains them on \`fedlora worker\` processes
      of that Redis queue, on any machines (same metrics; docs/scale-out.md)

  resume <runDir> [--workers N] [--queue URL]
      continue a stopped, interrupted or failed run from its last checkpoint; the finished
      metrics.jsonl equals an uninterrupted run's (wall-clock fields aside)

  worker --queue URL [--concurrency N] [--backend B] [--stall-ms N]
      join the queue's pool and train the jobs it hands out until Ctrl-C (which finishes the
      current job first); a killed worker's job goes to another after --stall-ms (default 30000)

  simulate --config <file.json> --rounds N [--out <dir>] [--profile <runDir>] [--decay X]
      the wireless channel and the controller alone (no training), thousands of rounds per
      second; importance profiles are synthetic (power law, exponent --decay, default 1) or the
      ones a tsfa training run recorded in its last checkpoint (--profile)

  sweep --config <grid.json> [--out <dir>] [--parallel N] [--queue URL]
      expand a grid of overrides into runs, run N at a time (default: cores); rerun to resume;
      --queue: each run is a job for the queue's workers, the run directories are written here

  report <runDir>... [--format html,pdf,svg,png,csv,json,tex,md] [--out <dir>] [--target-acc X] [--dpi N]
      figures, tables and a self-contained report of one run or a comparison (docs/reports.md)

  serve [--runs <dir>] [--port N] [--max-concurrent N] [--client-workers N] [--queue URL] [--no-build]
      the app's UI and API on 127.0.0.1 (default: runs/, a free port, 1 run at a time); builds
      the UI first when it is missing or older than src/; prints the URL with its per-launch
      token and serves until Ctrl-C; --queue: runs train their clients on the queue's workers
      (the Help view lists the pool)

exit codes: 0 ok, 1 the run failed, 2 bad input (arguments or config)`;

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name}: must be an integer, got "${v}"`);
  return n;
}

/** Read a JSON config file; errors name the file. */
export function readConfigFile(file: string): unknown {
  if (!fs.existsSync(file)) throw new UsageError(`--config: no such file ${file}`);
  const text = fs.readFileSync(file, 'utf8');
  if (text.length > 1_000_000) throw new UsageError(`${file}: config larger than 1 MB; is this the right file?`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

async function cmdRun(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { config: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, rounds: { type: 'string' }, name: { type: 'string' }, workers: { type: 'string' }, queue: { type: 'string' } },
  });
  if (!values.config) throw new UsageError('run: --config <file.json> is required');
  const configFile = path.resolve(values.config);
  const input = readConfigFile(configFile) as Record<string, unknown>;
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const seed = intArg('seed', values.seed), rounds = intArg('rounds', values.rounds);
    if (seed !== undefined) input.seed = seed;
    if (rounds !== undefined) input.federation = { ...(input.federation as object ?? {}), rounds };
    if (values.name !== undefined) input.name = values.name;
  }
  const v = validateRunConfig(input, path.dirname(configFile));
  if (!v.ok) {
    for (const i of v.issues) process.stderr.write(`${path.basename(configFile)}: ${i.path || '(config root)'}: ${i.message}\n`);
    return 2;
  }
  const workers = workersArg(values.workers);
  const queue = await queueArg(values.queue);
  if (typeof queue === 'number') return queue;
  const outDir = path.resolve(values.out ?? 'runs');
  cleanStaleTemps(outDir); // run folders a killed `run` left half-created
  const dir = createRunDir(outDir, v.config, versions(), os.cpus().length);
  return runInForeground(dir, v.config.federation.rounds, workers, queue);
}

async function cmdSimulate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { config: { type: 'string' }, out: { type: 'string' }, rounds: { type: 'string' }, profile: { type: 'string' }, decay: { type: 'string' } },
  });
  if (!values.config) throw new UsageError('simulate: --config <file.json> is required');
  const rounds = intArg('rounds', values.rounds);
  if (rounds === undefined || rounds < 1) throw new UsageError('simulate: --rounds N (an integer >= 1) is required');
  const decay = values.decay === undefined ? 1 : Number(values.decay);
  if (!Number.isFinite(decay) || decay < 0) throw new UsageError(`--decay: must be a number >= 0, got "${values.decay}"`);
  if (values.profile && !fs.existsSync(files(path.resolve(values.profile)).config)) throw new UsageError(`--profile: ${values.profile} is not a run directory`);
  const configFile = path.resolve(values.config);
  const input = readConfigFile(configFile) as Record<string, unknown>;
  if (input && typeof input === 'object' && !Array.isArray(input)) input.federation = { ...(input.federation as object ?? {}), rounds };
  const v = validateRunConfig(input, path.dirname(configFile));
  if (!v.ok) {
    for (const i of v.issues) process.stderr.write(`${path.basename(configFile)}: ${i.path || '(config root)'}: ${i.message}\n`);
    return 2;
  }
  if (v.config.lora.rank === 'auto') throw new UsageError('simulate: lora.rank "auto" needs the pilot fine-tune of a training run; give a number');
  const dir = createRunDir(path.resolve(values.out ?? 'runs'), v.config, versions(), os.cpus().length);
  const t0 = performance.now();
  try {
    const { runSimulation } = require('../service/clock/simulate') as typeof import('../service/clock/simulate');
    const rows = runSimulation(dir, { rounds, profileRun: values.profile && path.resolve(values.profile), decay });
    const s = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
    const budget = v.config.control.latencyBudgetS;
    process.stderr.write(`${rows.length} rounds in ${((performance.now() - t0) / 1000).toFixed(2)} s: mean round time ${s((r) => r.roundTime).toPrecision(4)} s`
      + `${budget !== null ? ` (budget ${budget} s)` : ''}, mean rho ${s((r) => r.rho).toFixed(3)}, mean queue ${s((r) => r.queue).toPrecision(3)}\n`);
  } catch (e) {
    process.stderr.write(`simulate failed: ${(e as Error).message}\n`);
    process.stdout.write(dir + '\n');
    return 1;
  }
  process.stdout.write(dir + '\n');
  return 0;
}

async function cmdResume(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { workers: { type: 'string' }, queue: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('resume: give exactly one run directory');
  const dir = path.resolve(positionals[0]);
  if (isSymlink(dir)) throw new UsageError(`resume: ${dir} is a symbolic link; give the run directory itself (a run never writes through a link)`);
  if (!fs.existsSync(files(dir).config) || !fs.existsSync(files(dir).meta)) {
    throw new UsageError(`resume: ${dir} is not a run directory (no config.json / meta.json)`);
  }
  let config: ExperimentConfig;
  try {
    config = readRunConfig(dir);
  } catch (e) {
    if (e instanceof SyntaxError) process.stderr.write(`${files(dir).config}: not valid JSON (${jsonProblem(e)}); the run cannot resume\n`);
    else if (e instanceof ConfigError) for (const i of e.issues) process.stderr.write(`${files(dir).config}: ${i.path}: ${i.message}\n`);
    else throw e;
    return 2;
  }
  const v = validateRunConfig(config, dir);
  if (!v.ok) {
    for (const i of v.issues) process.stderr.write(`${files(dir).config}: ${i.path}: ${i.message}\n`);
    return 2;
  }
  const queue = await queueArg(values.queue);
  if (typeof queue === 'number') return queue;
  return runInForeground(dir, config.federation.rounds, workersArg(values.workers), queue);
}

/** --queue URL: checked and reached before anything is written (exit 1 when Redis does not answer). */
async function queueArg(url: string | undefined): Promise<QueueTarget | undefined | number> {
  if (url === undefined) return undefined;
  const { openQueueTarget } = require('./queue') as typeof import('./queue');
  try {
    return await openQueueTarget(url);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    process.stderr.write(`fedlora: ${(e as Error).message}\n`);
    return 1;
  }
}

/** --workers N: client worker threads (default 1; results are identical for any N). */
function workersArg(v: string | undefined): number {
  const n = intArg('workers', v) ?? 1;
  if (n < 1 || n > 64) throw new UsageError(`--workers: must be an integer in 1..64, got "${v}"`);
  return n;
}

async function runInForeground(dir: string, rounds: number, clientWorkers = 1, queue?: QueueTarget): Promise<number> {
  const progress = new Progress();
  const { executeRun } = require('../service/runner') as typeof import('../service/runner');
  const queued: Pick<RunHooks, 'clientPool' | 'onRound'> = queue
    ? (require('../service/queue/hooks') as typeof import('../service/queue/hooks')).queueRunHooks(queue, (l) => progress.log(l), (done, total, workers) => progress.jobs(done, total, workers))
    : {};
  progress.log(`run ${path.basename(dir)}: ${rounds} rounds`);
  let stopRequested = false;
  const onSig = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    progress.log('stopping after this round (Ctrl-C again to abort)');
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  try {
    const s = await executeRun(dir, {
      onRound: (m, total) => { queued.onRound?.(m, total); progress.round(m, total); },
      onLog: (l) => progress.log(l), shouldStop: () => stopRequested, clientWorkers, clientPool: queued.clientPool,
    });
    progress.log(`${s.status}: final accuracy ${s.finalAcc === null ? 'n/a' : (s.finalAcc * 100).toFixed(2) + '%'}, uplink ${s.totalUplinkBits} bits`);
    process.stdout.write(dir + '\n');
    return s.status === 'completed' || s.status === 'stopped' ? 0 : 1;
  } catch (e) {
    progress.log(`run failed: ${(e as Error).message}`);
    if (e instanceof RunLockedError) return EXIT_LOCKED;
    process.stdout.write(dir + '\n');
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': return await cmdRun(rest);
      case 'resume': return await cmdResume(rest);
      case 'sweep': return await (require('./sweep') as typeof import('./sweep')).sweepCommand(rest);
      case 'simulate': return await cmdSimulate(rest);
      case 'serve': return await (require('./serve') as typeof import('./serve')).serveCommand(rest);
      case 'worker': return await (require('./queue') as typeof import('./queue')).workerCommand(rest);
      case 'report': return await (require('./report') as typeof import('./report')).reportCommand(rest);
      case undefined: case 'help': case '--help': case '-h':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`fedlora: ${(e as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`fedlora: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
