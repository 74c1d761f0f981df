/**
 * `npm run replicate [-- --fast] [--out dir] [--parallel N]`: the paper's kind of evidence on the
 * shipped model, in one command.
 *  (a) accuracy vs rounds / uplink bits / simulated time for dense FedIT, ideal (SOFT model, rho = 1),
 *      top-k (rho 0.21875: the bits of SOFT at 0.25 with positions as a bitmask), random-k, SVD truncation, SOFT at rho 0.25 and SOFT + TSFA, 3 seeds, identical
 *      partitions and channel draws per seed (a sweep: `configs/replicate/methods-{fast,full}.json`);
 *  (b) latency vs budget and the controller's trajectory (simulate);
 *  (c) the offline rank choice vs budget and bandwidth (pilot fine-tune + channel statistics);
 *  (d) the V trade-off (simulate);
 *  (e) SOFT vs SVD selection cost vs layer size (bench compress);
 *  (f) `-- pareto`: every compressor at rho 1/8, 1/4, 1/2, 1 (QSGD at 1, 3, 15, 255 levels) per seed, 95% intervals and paired differences;
 *  (g) `-- tradeoff`: tsfa against fixed-opt at rho = 1, the best fixed rho and ideal per budget; tsfa's V curve.
 * Writes `<out>/replicate.md` (tables) and the sweep's run directories; rerunning resumes the sweep.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend';
import { parseConfig, resolved, type ExperimentConfig } from '../src/engine/config';
import { RoundClock } from '../src/engine/control/clock';
import { energyCurve, expectedLatency, pilotSpectrum, scoreRanks } from '../src/engine/fl/offline';
import { latencyFloor, newSimState, simulateRound, type SimRow } from '../src/engine/control/simulate';
import { loadRunInputs } from '../src/service/runner';
import { clockInputs } from '../src/service/clock/inputs';
import { files, readJson, readMetrics, type RunSummary } from '../src/service/runs/runStore';
import { benchCompressRows } from '../bench/compress';
import { formatMethodsTable, summarizeMethods, type MethodRun } from './replicate/tables';
import { bestFixedRho, formatTradeoffTable, tradeoffFigure, tradeoffRows, vCurveFigure, type TradeoffRun, type VPoint } from './replicate/tradeoff';
import { validateRunConfig } from '../src/service/validate';
import { paretoFigure, paretoPoints, paretoQsgdSweep, paretoRun, paretoSoftL0Sweep, paretoSweep, pairedDifferences, formatPairedTable, formatParetoTable, type ParetoRun } from './replicate/pareto';
import { CLI_NODE_ARGS } from '../src/service/workers';

const root = path.resolve(__dirname, '..');

function log(s: string): void { process.stderr.write(s + '\n'); }

function mean(xs: number[]): number { return xs.reduce((a, b) => a + b, 0) / xs.length; }

function simulate(cfg: ExperimentConfig, rounds: number, shard: ReturnType<typeof clockInputs>): SimRow[] {
  const rc = resolved(cfg);
  const lm = new RoundClock({ config: rc, ...shard });
  const st = newSimState();
  return Array.from({ length: rounds }, () => simulateRound(lm, st, { kind: 'synthetic', seed: cfg.seed, decay: 1, noise: 0.3 }, rc.lora.rank));
}

/** The checked-out commit, for the tables' headers. */
const gitCommit = (): string => spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || 'unknown';

/** Run a sweep grid in a child process (resumable: a rerun continues where it stopped). */
function runSweep(grid: string, outDir: string, parallel?: string): boolean {
  const sw = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'sweep', '--config', grid, '--out', outDir, ...(parallel ? ['--parallel', parallel] : [])], { stdio: ['ignore', 'ignore', 'inherit'], cwd: root });
  if (sw.status !== 0) log(`sweep ${grid} failed (exit ${sw.status}); rerun the same command to resume`);
  return sw.status === 0;
}

/** Completed runs of a sweep folder: config, summary and metrics rows. */
function sweepRuns(sweepOut: string): { dir: string; config: ExperimentConfig; summary: RunSummary; label: string }[] {
  const plan = readJson<{ runs: { id: string; label: string }[] }>(path.join(sweepOut, 'sweep.json'));
  return plan.runs.map((r) => path.join(sweepOut, r.id)).filter((dir) => fs.existsSync(files(dir).summary)).map((dir, i) => ({
    dir, label: plan.runs[i].label, config: readJson<ExperimentConfig>(files(dir).config), summary: readJson<RunSummary>(files(dir).summary),
  })).filter((r) => r.summary.status === 'completed');
}

const numberList = (s: string, name: string): number[] => s.split(',').map((x) => {
  const v = Number(x);
  if (x.trim() === '' || !Number.isFinite(v)) throw new Error(`--${name}: expected comma-separated numbers, got "${s}"`);
  return v;
});

/**
 * The quick preset at 100 kHz (the TSFA experiments' uplink), or with `fast` the replication's fast
 * base (configs/replicate/base-fast.json: 4,000 training and 1,000 test images, 1 local epoch,
 * 6 rounds, 30 kHz); evaluated on the last round only.
 */
function quickBase(rounds: number | undefined, fast: boolean): Record<string, any> {
  const q = readJson<Record<string, any>>(path.join(root, fast ? 'configs/replicate/base-fast.json' : 'configs/quick.json'));
  const R = rounds ?? q.federation.rounds;
  return { ...q, name: 'pareto', federation: { ...q.federation, rounds: R }, channel: { ...(q.channel ?? {}), bandwidthHz: fast ? q.channel.bandwidthHz : 100000 }, eval: { ...q.eval, every: R } };
}

/** One line naming the base of a pareto/tradeoff run, for captions. */
function baseLine(base: Record<string, any>, fast: boolean): string {
  return fast
    ? `fast base (configs/replicate/base-fast.json: quick preset's model, 4,000 training / 1,000 test images, 20 clients, Dirichlet 0.5, 5 per round, 1 local epoch), ${base.federation.rounds} rounds, ${base.channel.bandwidthHz / 1000} kHz`
    : `quick preset (configs/quick.json: ViT r = 8 on q, v; 20 clients, Dirichlet 0.5, 5 per round, 2 local epochs), ${base.federation.rounds} rounds, 100 kHz uplink`;
}

/** `-- pareto`: every compressor at rho 1/8, 1/4, 1/2, 1 (QSGD at 1, 3, 15, 255 levels) per seed; tables, paired differences and a figure. */
function paretoCommand(values: Record<string, string | boolean | undefined>): number {
  const seeds = numberList(String(values.seeds ?? '0,1,2,3,4'), 'seeds');
  const rounds = values.rounds ? Number(values.rounds) : undefined;
  const out = path.resolve(String(values.out ?? path.join('replicate', 'pareto')));
  fs.mkdirSync(out, { recursive: true });
  const fast = !!values.fast;
  const base = quickBase(rounds, fast);
  const t0 = Date.now();
  const sweeps = [{ suffix: '', make: paretoSweep }, { suffix: '-qsgd', make: paretoQsgdSweep }, { suffix: '-soft0', make: paretoSoftL0Sweep }];
  for (const seed of seeds) {
    for (const { suffix, make } of sweeps) {
      const grid = path.join(out, `grid-seed${seed}${suffix}.json`);
      fs.writeFileSync(grid, JSON.stringify(make(base, seed), null, 2));
      log(`pareto: seed ${seed} -> ${path.join(out, `seed${seed}${suffix}`)}`);
      if (!runSweep(grid, path.join(out, `seed${seed}${suffix}`), values.parallel as string | undefined)) return 1;
    }
  }
  const runs: ParetoRun[] = seeds.flatMap((seed) => sweeps.flatMap(({ suffix }) => sweepRuns(path.join(out, `seed${seed}${suffix}`))
    .map((r) => paretoRun(r.config, seed, r.summary.finalAcc, r.summary.totalUplinkBits))));
  const points = paretoPoints(runs);
  const commit = gitCommit();
  const setup = `${baseLine(base, fast)}, error feedback on, SOFT with lambda 0.01 and, as its own series, with lambda 0 (the others lambda 0), QSGD at s = 1, 3, 15, 255 levels (not paired: it has no ratio); seeds ${seeds.join(', ')}, each seed's runs on identical partitions, sampling, batches and channel draws`;
  const caption = `Final accuracy vs total uplink bits, mean and 95% t-interval over seeds ${seeds.join(', ')}; ${base.federation.rounds} rounds of the ${fast ? 'fast base (4,000 images, 1 local epoch)' : 'quick preset'}`;
  // in docs/replication: pareto.md the fast base's grid (the --fast suite's (f)), pareto-quick.md the quick preset's (the full suite's)
  const docName = fast ? 'pareto' : 'pareto-quick';
  const md = [
    `# Pareto fronts of the compressors${fast ? '' : ' (quick preset)'}`, '',
    `Command: \`npm run replicate -- pareto${fast ? ' --fast' : ''} --seeds ${seeds.join(',')}${rounds ? ` --rounds ${rounds}` : ''}\`; commit ${commit}; ${os.cpus().length} cores; ${new Date().toISOString().slice(0, 10)}; ${((Date.now() - t0) / 60000).toFixed(1)} min in this invocation.`, '',
    `Setup: ${setup}.`, '',
    `![Pareto fronts](figures/${docName}.svg)`, '', `*${caption}.*`, '',
    ...formatParetoTable(points), '',
    '## Paired differences (SOFT minus baseline, same seed and ratio)', '',
    ...formatPairedTable(pairedDifferences(runs)), '',
  ];
  fs.writeFileSync(path.join(out, 'pareto.md'), md.join('\n'));
  const svg = paretoFigure(points, caption);
  fs.writeFileSync(path.join(out, 'pareto.svg'), svg);
  if (values.docs) {
    fs.writeFileSync(path.join(root, `docs/replication/${docName}.md`), md.join('\n'));
    fs.writeFileSync(path.join(root, `docs/replication/figures/${docName}.svg`), svg);
  }
  log(`wrote ${path.join(out, 'pareto.md')}${values.docs ? ` and docs/replication/${docName}.md` : ''}`);
  return 0;
}

/**
 * `-- tradeoff`: tsfa against fixed-opt at rho = 1, the best fixed rho meeting the budget and ideal,
 * per budget and seed (training runs), and tsfa's V curve (clock only). Default: the TSFA setting of
 * docs/results.md (quick preset, 10 rounds, 100 kHz, SOFT lambda 0, budget 3.2 s); `--fast`: the fast
 * base with SOFT lambda 0.01 at three budgets between the floor and the ideal time.
 */
function tradeoffCommand(values: Record<string, string | boolean | undefined>): number {
  const fast = !!values.fast;
  const seeds = numberList(String(values.seeds ?? '0,1,2'), 'seeds');
  const base0 = quickBase(values.rounds ? Number(values.rounds) : fast ? undefined : 10, fast);
  const lambda = fast ? 0.01 : 0;
  const base: Record<string, any> = { ...base0, name: 'tradeoff', compression: { method: 'soft', rho: 0.25 }, soft: { lambda } };
  const out = path.resolve(String(values.out ?? path.join('replicate', fast ? 'tradeoff-fast' : 'tradeoff')));
  fs.mkdirSync(out, { recursive: true });
  const cfgDir = path.join(root, 'configs');
  const R: number = base.federation.rounds, rank: number = base.lora.rank;
  const levels = Array.from({ length: rank }, (_, j) => (j + 1) / rank);
  const t0 = Date.now();
  // the clock of every fixed controller, per seed: exactly what their training runs log
  const clock = new Map<number, { fixed: Map<number, number>; ideal: number }>();
  for (const seed of seeds) {
    const c = (over: Record<string, unknown>) => parseConfig({ ...base, seed, ...over });
    const shard = clockInputs(c({}), cfgDir);
    const meanTime = (cfg: ExperimentConfig) => mean(simulate(cfg, R, shard).map((r) => r.roundTime));
    clock.set(seed, {
      fixed: new Map(levels.map((rho) => [rho, meanTime(c({ compression: { method: 'soft', rho }, control: { method: 'fixed-opt' } }))])),
      ideal: meanTime(c({ control: { method: 'ideal' } })),
    });
  }
  const c0 = clock.get(seeds[0])!;
  const budgets = values.budgets ? numberList(String(values.budgets), 'budgets')
    : fast ? [0.25, 0.5, 1].map((rho) => Math.ceil(c0.fixed.get(rho)! * 1000) / 1000) : [3.2];
  const runsBySeed = new Map<number, { dir: string; config: ExperimentConfig; summary: RunSummary; label: string }[]>();
  const dropped: string[] = [];
  for (const seed of seeds) {
    const cl = clock.get(seed)!;
    const rhos = new Set<number>([1]);
    for (const b of budgets) { const r = bestFixedRho(cl.fixed, b); if (r !== null) rhos.add(r); }
    const tsfaBudgets = budgets.filter((b) => {
      const v = validateRunConfig({ ...base, seed, control: { method: 'tsfa', latencyBudgetS: b } }, cfgDir);
      if (!v.ok) dropped.push(`seed ${seed}, budget ${b}: ${v.issues.map((i) => i.message).join('; ')}`);
      return v.ok;
    });
    const spec = {
      name: `tradeoff-seed${seed}`, base: { ...base, seed },
      variants: [
        ...[...rhos].sort((a, b) => a - b).map((rho) => ({ label: `fixed-opt-rho-${rho}`, set: { 'compression.rho': rho, 'control.method': 'fixed-opt' } })),
        ...tsfaBudgets.map((b) => ({ label: `tsfa-budget-${b}`, set: { 'control.method': 'tsfa', 'control.latencyBudgetS': b } })),
      ],
    };
    const grid = path.join(out, `grid-seed${seed}.json`);
    fs.writeFileSync(grid, JSON.stringify(spec, null, 2));
    log(`tradeoff: seed ${seed} -> ${path.join(out, `seed${seed}`)}`);
    if (!runSweep(grid, path.join(out, `seed${seed}`), values.parallel as string | undefined)) return 1;
    runsBySeed.set(seed, sweepRuns(path.join(out, `seed${seed}`)));
  }
  const runs: TradeoffRun[] = [];
  for (const seed of seeds) {
    const rs = runsBySeed.get(seed)!, cl = clock.get(seed)!;
    const fixedRun = (rho: number) => rs.find((r) => r.config.control.method === 'fixed-opt' && r.config.compression.rho === rho);
    const one = fixedRun(1);
    for (const b of budgets) {
      const ts = rs.find((r) => r.config.control.method === 'tsfa' && r.config.control.latencyBudgetS === b);
      if (ts) runs.push({ budget: b, controller: 'tsfa', seed, rho: mean(readMetrics<Record<string, any>>(ts.dir).rows.map((x) => x.rho)), latency: ts.summary.meanRoundTime, acc: ts.summary.finalAcc ?? NaN, bits: ts.summary.totalUplinkBits });
      const best = bestFixedRho(cl.fixed, b), br = best === null ? undefined : fixedRun(best);
      if (br) runs.push({ budget: b, controller: 'best fixed rho', seed, rho: best, latency: br.summary.meanRoundTime, acc: br.summary.finalAcc ?? NaN, bits: br.summary.totalUplinkBits });
      if (one) {
        runs.push({ budget: b, controller: 'fixed-opt rho = 1', seed, rho: 1, latency: one.summary.meanRoundTime, acc: one.summary.finalAcc ?? NaN, bits: one.summary.totalUplinkBits });
        // ideal trains exactly as fixed-opt at rho = 1 (every component sent); only its shares, hence its clock, differ
        runs.push({ budget: b, controller: 'ideal', seed, rho: 1, latency: cl.ideal, acc: one.summary.finalAcc ?? NaN, bits: one.summary.totalUplinkBits });
      }
    }
  }
  const rows = tradeoffRows(runs);
  // tsfa's V curve on the acceptance setting: quick preset, 100 kHz, budget 3.2 s, 2,000 rounds of the clock
  const q = readJson<Record<string, any>>(path.join(root, 'configs/quick.json'));
  const vBase = { ...q, federation: { ...q.federation, rounds: 2000 }, channel: { bandwidthHz: 100000 }, compression: { method: 'soft' }, soft: { lambda: 0 } };
  const vShard = clockInputs(parseConfig(vBase), cfgDir);
  const vb = 3.2;
  const vPoints: VPoint[] = [0.1, 0.3, 1, 2, 4, 10, 30, 100].map((k) => {
    const rs = simulate(parseConfig({ ...vBase, control: { method: 'tsfa', latencyBudgetS: vb, V: k * vb * vb } }), 2000, vShard);
    return { V: k * vb * vb, meanRho: mean(rs.map((r) => r.rho)), meanQueue: mean(rs.map((r) => r.queue)), ratio: mean(rs.map((r) => r.roundTime)) / vb };
  });
  const commit = gitCommit();
  const name = fast ? 'tradeoff-fast' : 'tradeoff';
  const caption = `Final accuracy vs mean round time per controller; budgets ${budgets.join(', ')} s; seeds ${seeds.join(', ')}; ${R} rounds of the ${fast ? 'fast base (4,000 images, 1 local epoch)' : 'quick preset'} at ${base.channel.bandwidthHz / 1000} kHz, SOFT lambda ${lambda}`;
  const vCaption = 'tsfa V curve: quick preset, 100 kHz, budget 3.2 s, 2,000 simulated rounds (clock only, synthetic profiles, seed 0)';
  const md = [
    `# Controllers: latency against accuracy${fast ? ' (fast base)' : ''}`, '',
    `Command: \`npm run replicate -- tradeoff${fast ? ' --fast' : ''} --seeds ${seeds.join(',')}${values.budgets ? ` --budgets ${values.budgets}` : ''}${values.rounds ? ` --rounds ${values.rounds}` : ''}\`; commit ${commit}; ${os.cpus().length} cores; ${new Date().toISOString().slice(0, 10)}; ${((Date.now() - t0) / 60000).toFixed(1)} min in this invocation.`, '',
    `Setup: ${baseLine(base, fast)}, SOFT with lambda ${lambda}, error feedback on; every controller of a seed sees the same partition, sampling, batches and channel. tsfa uses the default V (4 x budget^2). "best fixed rho" is the largest j/${rank} whose fixed-opt mean round time over these ${R} rounds (the clock, which its training run reproduces exactly) meets the budget; fixed-opt at rho = 1 and ideal send every component and train identically, so they share an accuracy and differ in the clock only (ideal: equal shares). Clock per seed, mean round time (s) of fixed-opt at rho = j/${rank} and of ideal: ${seeds.map((s) => `seed ${s}: ${[...clock.get(s)!.fixed.values()].map((t) => t.toFixed(3)).join(', ')}; ideal ${clock.get(s)!.ideal.toFixed(3)}`).join(' | ')}.`, '',
    ...(dropped.length ? ['Budgets refused as infeasible (no tsfa run): ' + dropped.join(' | '), ''] : []),
    `![latency vs accuracy](figures/${name}.svg)`, '', `*${caption}.*`, '',
    ...formatTradeoffTable(rows), '',
    '## tsfa V curve (clock only)', '', `![V curve](figures/vcurve.svg)`, '', `*${vCaption}.*`, '',
    '| V (s^2) | V / budget^2 | mean rho | mean queue (s) | latency / budget |', '|---|---|---|---|---|',
    ...vPoints.map((p) => `| ${+p.V.toPrecision(4)} | ${+(p.V / vb / vb).toPrecision(3)} | ${p.meanRho.toFixed(3)} | ${p.meanQueue.toFixed(2)} | ${p.ratio.toFixed(4)} |`), '',
  ];
  fs.writeFileSync(path.join(out, `${name}.md`), md.join('\n'));
  const svg = tradeoffFigure(rows, caption), vsvg = vCurveFigure(vPoints, vCaption);
  fs.writeFileSync(path.join(out, `${name}.svg`), svg);
  fs.writeFileSync(path.join(out, 'vcurve.svg'), vsvg);
  if (values.docs) {
    fs.writeFileSync(path.join(root, `docs/replication/${name}.md`), md.join('\n'));
    fs.writeFileSync(path.join(root, `docs/replication/figures/${name}.svg`), svg);
    fs.writeFileSync(path.join(root, 'docs/replication/figures/vcurve.svg'), vsvg);
  }
  log(`wrote ${path.join(out, `${name}.md`)}`);
  return 0;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ args: process.argv.slice(2), strict: true, allowPositionals: true, options: { fast: { type: 'boolean' }, out: { type: 'string' }, parallel: { type: 'string' }, seeds: { type: 'string' }, rounds: { type: 'string' }, docs: { type: 'boolean' }, budgets: { type: 'string' } } });
  const sub = positionals[0];
  if (sub === 'pareto') return paretoCommand(values);
  if (sub === 'tradeoff') return tradeoffCommand(values);
  if (sub !== undefined) { log(`replicate: unknown command "${sub}"; use pareto, tradeoff or none (the whole suite)`); return 2; }
  const fast = !!values.fast;
  const variant = fast ? 'fast' : 'full';
  const out = path.resolve(values.out ?? path.join('replicate', variant));
  fs.mkdirSync(out, { recursive: true });
  const t0 = Date.now();
  const md: string[] = [];
  const commit = gitCommit();
  md.push(`# Replication (${variant})`, '', `Command: \`npm run replicate${fast ? ' -- --fast' : ''}\`; commit ${commit}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}); ${new Date().toISOString().slice(0, 10)}.`, '');

  // (a) methods sweep, in child processes (resumable)
  const grid = path.join(root, 'configs/replicate', `methods-${variant}.json`);
  const sweepOut = path.join(out, 'methods');
  log(`(a) methods sweep: ${grid} -> ${sweepOut}`);
  const ta = Date.now();
  if (!runSweep(grid, sweepOut, values.parallel)) return 1;
  const plan = readJson<{ runs: { id: string; label: string }[] }>(path.join(sweepOut, 'sweep.json'));
  const runs: MethodRun[] = plan.runs.map((r) => {
    const dir = path.join(sweepOut, r.id);
    return {
      method: r.label.replace(/\s*seed=\S+/, ''), dir,
      config: readJson<ExperimentConfig>(files(dir).config), summary: readJson<RunSummary>(files(dir).summary),
      rows: readMetrics<Record<string, any>>(dir).rows,
    };
  });
  const methods = summarizeMethods(runs);
  // the sweep's span from its runs' own start/end times (a resumed sweep spans several invocations)
  const metas = runs.map((r) => readJson<{ startedAt?: string; endedAt?: string }>(files(r.dir).meta));
  const t = (s?: string) => (s ? Date.parse(s) : NaN);
  const span = (Math.max(...metas.map((m) => t(m.endedAt))) - Math.min(...metas.map((m) => t(m.startedAt)))) / 60000;
  md.push(`## (a) Methods on identical data and channel draws (3 seeds)`, '', `Grid: \`configs/replicate/methods-${variant}.json\`; the runs span ${span.toFixed(1)} min from the first start to the last end (this invocation: ${((Date.now() - ta) / 60000).toFixed(1)} min).`, '', ...formatMethodsTable(methods), '');

  // (b) latency vs budget, (d) V trade-off: the clock alone on the same setup
  const base = parseConfig({ ...readJson<Record<string, unknown>>(path.join(root, 'configs/replicate', `base-${variant}.json`)), compression: { method: 'soft', rho: 0.25 } });
  const shard = clockInputs(base, path.join(root, 'configs/replicate'));
  const R = fast ? 1000 : 5000;
  const ideal = mean(simulate(parseConfig({ ...base, control: { method: 'ideal' } }), R, shard).map((r) => r.roundTime));
  const fixedOpt = mean(simulate(parseConfig({ ...base, control: { method: 'fixed-opt' } }), R, shard).map((r) => r.roundTime));
  const lm = new RoundClock({ config: resolved(base), ...shard });
  const floor = latencyFloor(lm, 1 / 8, 200);
  md.push(`## (b) Latency vs budget (simulate, ${R} rounds each, synthetic profiles, V = 1)`, '',
    `Ideal (rho = 1, equal shares): mean round ${ideal.toFixed(3)} s; fixed rho 0.25 with optimal shares: ${fixedOpt.toFixed(3)} s; smallest reachable mean (rho = 1/8, optimal shares, first 200 rounds): ${floor.minMeanLatency.toFixed(3)} s, of which computation ${floor.computeOnly.toFixed(3)} s.`, '',
    '| budget (s) | mean latency (s) | latency / budget | mean rho | mean queue | max queue | rounds over budget |', '|---|---|---|---|---|---|---|');
  const budgets = [1.02, 1.1, 1.25, 1.5, 1.75].map((f) => floor.minMeanLatency * f).concat([ideal * 1.2]);
  for (const b of budgets) {
    const rows = simulate(parseConfig({ ...base, control: { method: 'tsfa', latencyBudgetS: b, V: 1 } }), R, shard);
    const lat = mean(rows.map((r) => r.roundTime));
    md.push(`| ${b.toFixed(3)} | ${lat.toFixed(3)} | ${(lat / b).toFixed(3)} | ${mean(rows.map((r) => r.rho)).toFixed(3)} | ${mean(rows.map((r) => r.queue)).toFixed(3)} | ${Math.max(...rows.map((r) => r.queue)).toFixed(2)} | ${(100 * rows.filter((r) => r.roundTime > b).length / R).toFixed(1)}% |`);
  }
  const mid = floor.minMeanLatency * 1.25;
  const traj = simulate(parseConfig({ ...base, control: { method: 'tsfa', latencyBudgetS: mid, V: 1 } }), 20, shard);
  md.push('', `Trajectory of the first 20 rounds at budget ${mid.toFixed(3)} s: round time, rho, queue.`, '', '| round | T (s) | rho | Q |', '|---|---|---|---|',
    ...traj.map((r) => `| ${r.round} | ${r.roundTime.toFixed(3)} | ${r.rho.toFixed(3)} | ${r.queue.toFixed(3)} |`), '');
  md.push(`## (d) V trade-off (simulate, ${R} rounds, budget ${mid.toFixed(3)} s)`, '', '| V | mean rho | mean predicted error | mean queue | mean latency (s) |', '|---|---|---|---|---|');
  for (const V of [0.01, 0.1, 1, 10, 100]) {
    const rows = simulate(parseConfig({ ...base, control: { method: 'tsfa', latencyBudgetS: mid, V } }), R, shard);
    md.push(`| ${V} | ${mean(rows.map((r) => r.rho)).toFixed(3)} | ${mean(rows.map((r) => r.predictedError ?? 0)).toFixed(4)} | ${mean(rows.map((r) => r.queue)).toFixed(3)} | ${mean(rows.map((r) => r.roundTime)).toFixed(3)} |`);
  }
  md.push('');

  // (c) offline rank choice vs budget and bandwidth (one pilot fine-tune, then channel statistics)
  await initBackend('wasm');
  const autoCfg = parseConfig({ ...base, lora: { ...base.lora, rank: 'auto' }, control: { method: 'tsfa', latencyBudgetS: mid } });
  const inputs = loadRunInputs(autoCfg, path.join(root, 'configs/replicate'));
  const R0 = Math.max(...autoCfg.offline.candidates);
  const pilot = await pilotSpectrum({ config: autoCfg, spec: inputs.model.spec, base: inputs.model.weights, train: inputs.train, shardSizes: shard.shardSizes }, R0);
  const energy = energyCurve(pilot.singularValues, R0);
  md.push(`## (c) Offline rank choice (candidates ${autoCfg.offline.candidates.join(', ')}; pilot: ${autoCfg.offline.pilotSteps} steps at rank ${R0} on ${autoCfg.offline.pilotSamples} proxy samples)`, '',
    `Pilot energy curve e(m) at m = 1, 2, 4, 8, 16, 32: ${[1, 2, 4, 8, 16, 32].map((m) => energy[m].toFixed(3)).join(', ')}.`, '',
    '| bandwidth (kHz) | budget (s) | chosen rank | rho_bar of the chosen rank | scores (rank: score) |', '|---|---|---|---|---|');
  for (const bw of [base.channel.bandwidthHz / 2, base.channel.bandwidthHz, base.channel.bandwidthHz * 4]) {
    for (const f of [1.1, 1.5, 2.5, 5]) {
      const c = parseConfig({ ...autoCfg, channel: { ...autoCfg.channel, bandwidthHz: bw } });
      const b = floor.minMeanLatency * f;
      const s = scoreRanks(c.offline.candidates, b, energy, expectedLatency(c, shard.spec, shard.shardSizes));
      const ch = s.candidates.find((x) => x.rank === s.chosenRank)!;
      md.push(`| ${(bw / 1000).toFixed(0)} | ${b.toFixed(3)} | ${s.chosenRank}${s.feasible ? '' : ' (none feasible)'} | ${ch.rhoBar.toFixed(3)} | ${s.candidates.map((x) => `${x.rank}: ${Number.isFinite(x.score) ? x.score.toFixed(3) : 'inf'}`).join(', ')} |`);
    }
  }
  md.push('');

  // (e) SOFT vs SVD selection cost
  const comp = benchCompressRows(fast ? [64, 256, 768] : [64, 128, 256, 512, 768, 1024], fast ? [8, 16] : [4, 8, 16, 32, 64]);
  md.push('## (e) SOFT selection vs SVD truncation, one d x d layer (median wall time, this machine)', '', '| d | r | SOFT (ms) | SVD (ms) | speed-up | SOFT FLOPs | SVD FLOPs |', '|---|---|---|---|---|---|---|',
    ...comp.map((c) => `| ${c.d} | ${c.r} | ${c.softMs.toFixed(3)} | ${c.svdMs.toFixed(1)} | ${c.speedup.toFixed(0)}x | ${c.softFlops.toExponential(2)} | ${c.svdFlops.toExponential(2)} |`), '');

  // (a)-(e) are written now: (f) and (g) take tens of minutes more on 2 cores (their sweeps resume when rerun)
  fs.writeFileSync(path.join(out, 'replicate.md'), [...md, `(a)-(e) took ${((Date.now() - t0) / 60000).toFixed(1)} min; (f) and (g) are running.`, ''].join('\n'));
  log(`wrote ${path.join(out, 'replicate.md')} ((a)-(e)); now (f) pareto and (g) tradeoff`);

  // (f) Pareto fronts (full: the quick preset, 5 seeds x 24 runs; --fast: the fast base) and (g) the
  // controllers' trade-off: their own commands, written beside this file
  const subOpts: Record<string, string | boolean | undefined> = { parallel: values.parallel, fast: values.fast };
  if (paretoCommand({ ...subOpts, out: path.join(out, 'pareto') }) !== 0) return 1;
  if (tradeoffCommand({ ...subOpts, out: path.join(out, fast ? 'tradeoff-fast' : 'tradeoff') }) !== 0) return 1;
  const tradeoffMd = fast ? 'tradeoff-fast/tradeoff-fast.md' : 'tradeoff/tradeoff.md';
  md.push('## (f) Pareto fronts and (g) the controllers\' latency-accuracy trade-off', '', `In [pareto/pareto.md](pareto/pareto.md) (${fast ? 'fast base' : 'quick preset'}, 5 seeds) and [${tradeoffMd}](${tradeoffMd}) (\`npm run replicate -- pareto${fast ? ' --fast' : ''}\` and \`-- tradeoff${fast ? ' --fast' : ''}\` on their own).`, '');
  md.push(`Total wall time: ${((Date.now() - t0) / 60000).toFixed(1)} min.`, '');
  fs.writeFileSync(path.join(out, 'replicate.md'), md.join('\n'));
  log(`wrote ${path.join(out, 'replicate.md')}`);
  process.stdout.write(out + '\n');
  return 0;
}

main().then((c) => process.exit(c), (e) => { process.stderr.write(`replicate: ${(e as Error).stack ?? e}\n`); process.exit(1); });
