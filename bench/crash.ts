/**
 * `npm run bench -- crash [--kills N] [--seed S] [--parallel P] [--rounds R] [--json]`: SIGKILLs a
 * CLI run (`fedlora run` on a tiny config: 4 clients, 200 training samples, a checkpoint every
 * round) N times (default 100), each in a fresh run, at seeded random moments: inside checkpoint,
 * sidecar, summary, meta and metrics writes (the FEDLORA_CRASH_AT hook kills the process at that
 * point of a chosen round) or after a random delay (halved until it comes before the run ends); a
 * quarter of the runs are killed a second time during their resume. Then `fedlora resume` until
 * the run completes. Asserts every run completes with the metrics of an uninterrupted run of the
 * same seed (wall-clock fields aside), with no temp file, takeover claim, orphan sidecar or lock
 * left. Prints a table per kill point.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deterministicPart } from '../src/service/runs/runStore';
import { CLI_NODE_ARGS } from '../src/service/workers';

const root = path.resolve(__dirname, '..');

/** Hook points (src/service/runs/fsutil.ts) with the rounds they may fire in: 0 = the writes before the first round. */
const POINTS: { point: string; round0?: boolean }[] = [
  { point: 'meta-tmp', round0: true }, { point: 'summary-tmp', round0: true }, { point: 'round-start' }, { point: 'metrics-torn' },
  { point: 'metrics-appended' }, { point: 'sidecar-tmp' }, { point: 'checkpoint-after-sidecar' }, { point: 'checkpoint-tmp' },
  { point: 'checkpoint-after-data' }, { point: 'summary-tmp' }, { point: 'round-end' },
];

export interface CrashRun {
  i: number;
  /** `point:round` of the hook, or `timer:<ms>` for a kill from outside. */
  kill: string;
  group: string;
  killed: boolean;
  /** State the kill left: rows in metrics.jsonl, a torn last line, temp files. */
  rowsAtKill: number;
  tornAtKill: boolean;
  tempsAtKill: number;
  resumeKill: string | null;
  resumeKilled: boolean;
  resumes: number;
  completed: boolean;
  metricsEqual: boolean;
  leftovers: string[];
  ms: number;
}

export interface CrashBenchResult { runs: CrashRun[]; kills: number; failures: number; seconds: number; cores: number; loadavg: number }

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32; };
}

interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string }

/** Run the CLI; `killAfterMs` (counted from the run folder's config.json appearing under `watch`) kills it from outside. */
function cli(args: string[], env: Record<string, string>, watch?: { out: string; killAfterMs: number }): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (b) => { stdout += b; });
    let timer: NodeJS.Timeout | undefined;
    if (watch) {
      const poll = setInterval(() => {
        if (!runDirIn(watch.out)) return;
        clearInterval(poll);
        timer = setTimeout(() => child.kill('SIGKILL'), watch.killAfterMs);
      }, 10);
      child.on('exit', () => clearInterval(poll));
    }
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout }); });
  });
}

function runDirIn(out: string): string | null {
  try {
    const d = fs.readdirSync(out).find((n) => !n.startsWith('.') && fs.existsSync(path.join(out, n, 'config.json')));
    return d ? path.join(out, d) : null;
  } catch { return null; }
}

function metricsState(dir: string): { rows: Record<string, unknown>[]; torn: boolean } {
  let text = '';
  try { text = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'); } catch { /* none yet */ }
  const lines = text.split('\n');
  const torn = lines.pop()!.length > 0;
  return { rows: lines.filter(Boolean).map((l) => JSON.parse(l)), torn };
}

/** Temp files, takeover claims, sidecars without their checkpoint, and the lock. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  for (const d of [dir, path.join(dir, 'checkpoints')]) {
    let names: string[] = [];
    try { names = fs.readdirSync(d); } catch { continue; }
    for (const n of names) {
      if (n.endsWith('.tmp') || n.startsWith('run.lock')) out.push(path.relative(dir, path.join(d, n)));
      else if (n.endsWith('.sha256') && !names.includes(n.slice(0, -'.sha256'.length))) out.push(path.relative(dir, path.join(d, n)));
    }
  }
  return out;
}

const countTemps = (dir: string) => leftovers(dir).filter((f) => f.endsWith('.tmp')).length;

export async function benchCrash(opts: { kills?: number; seed?: number; parallel?: number; rounds?: number; json?: boolean } = {}): Promise<CrashBenchResult> {
  const kills = opts.kills ?? 100, rounds = opts.rounds ?? 4, parallel = Math.max(1, opts.parallel ?? 1);
  const random = rng(opts.seed ?? 1);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-crash-'));
  const configFile = path.join(work, 'tiny.json');
  fs.writeFileSync(configFile, JSON.stringify({
    name: 'crash', seed: 11, backend: 'wasm', data: { dataset: 'fashion-mnist', trainSamples: 200, testSamples: 100 },
    federation: { numClients: 4, clientsPerRound: 2, rounds }, train: { localSteps: 2 }, checkpoint: { every: 1, keep: 2 },
  }));
  const log = (s: string) => { if (!opts.json) process.stderr.write(s + '\n'); };
  const t0 = Date.now();
  // the uninterrupted reference, and how long a run trains (from its folder appearing to its end)
  const refOut = path.join(work, 'ref');
  let appeared = 0;
  const watcher = setInterval(() => { if (!appeared && runDirIn(refOut)) appeared = Date.now(); }, 10);
  const ref = await cli(['run', '--config', configFile, '--out', refOut], {});
  clearInterval(watcher);
  if (ref.code !== 0) throw new Error(`the reference run failed (exit ${ref.code})`);
  const trainMs = Math.max(200, Date.now() - appeared);
  const refRows = metricsState(runDirIn(refOut)!).rows.map(deterministicPart);
  log(`reference: ${refRows.length} rounds, ${trainMs} ms from the run folder to the end; ${kills} runs to kill, ${parallel} at a time`);

  // every run's plan is drawn up front, so the seed alone fixes it (whatever the parallelism)
  const plans = Array.from({ length: kills }, () => {
    const timer = random() < 0.25;
    const p = POINTS[Math.floor(random() * POINTS.length)];
    // meta.json is written before the first round and after the last one only
    const round = p.round0 && random() < 0.5 ? 0 : p.point === 'meta-tmp' ? rounds : 1 + Math.floor(random() * rounds);
    const delay = Math.floor(random() * trainMs * 0.9);
    const again = random() < 0.25, p2 = POINTS[2 + Math.floor(random() * (POINTS.length - 2))], r2 = random();
    return { kill: timer ? `timer:${delay}` : `${p.point}:${round}`, group: timer ? 'timer' : p.point + (round === 0 ? ':0' : ''), delay: timer ? delay : null, again, p2, r2 };
  });
  const runs: CrashRun[] = [];
  let next = 0;
  const one = async (i: number): Promise<CrashRun> => {
    const plan = plans[i];
    const started = Date.now();
    const out = path.join(work, `r${String(i).padStart(3, '0')}`);
    let first: Exit, kill = plan.kill;
    if (plan.delay === null) first = await cli(['run', '--config', configFile, '--out', out], { FEDLORA_CRASH_AT: plan.kill });
    else {
      // a kill from outside may come after the run finished: then again in a fresh folder, sooner
      for (let delay = plan.delay, k = 0; ; delay = Math.floor(delay / 2), k++) {
        first = await cli(['run', '--config', configFile, '--out', out], {}, { out, killAfterMs: delay });
        kill = `timer:${delay}`;
        if (first.signal === 'SIGKILL' || k === 4) break;
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
    const r: CrashRun = { i, kill, group: plan.group, killed: first.signal === 'SIGKILL', rowsAtKill: 0, tornAtKill: false, tempsAtKill: 0, resumeKill: null, resumeKilled: false, resumes: 0, completed: false, metricsEqual: false, leftovers: [], ms: 0 };
    if (!runDirIn(out)) {
      // killed while the run folder was being created: there is no run to resume; `run` again
      r.tempsAtKill = fs.existsSync(out) ? fs.readdirSync(out).filter((n) => n.endsWith('.tmp')).length : 0;
      await cli(['run', '--config', configFile, '--out', out], {});
      r.resumes = -1;
    }
    const dir = runDirIn(out);
    if (!dir) return { ...r, leftovers: ['(no run folder)'], ms: Date.now() - started };
    const st = metricsState(dir);
    const reran = r.resumes === -1;
    if (!reran) Object.assign(r, { rowsAtKill: st.rows.length, tornAtKill: st.torn, tempsAtKill: countTemps(dir) });
    let killAgain = plan.again && !reran && st.rows.length < rounds;
    for (let tries = 0; tries < 5 && !reran; tries++) {
      const env: Record<string, string> = {};
      if (killAgain) {
        r.resumeKill = `${plan.p2.point}:${st.rows.length + 1 + Math.floor(plan.r2 * (rounds - st.rows.length))}`;
        env.FEDLORA_CRASH_AT = r.resumeKill;
      }
      const res = await cli(['resume', dir], env);
      r.resumes++;
      if (killAgain) { r.resumeKilled = res.signal === 'SIGKILL'; killAgain = false; }
      if (res.code === 0) break;
      if (res.signal !== 'SIGKILL' && res.code !== 75) break; // 75: locked (never expected here)
    }
    r.completed = (() => { try { return JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).status === 'completed'; } catch { return false; } })();
    const end = metricsState(dir);
    r.metricsEqual = !end.torn && JSON.stringify(end.rows.map(deterministicPart)) === JSON.stringify(refRows);
    r.leftovers = [...leftovers(dir), ...fs.readdirSync(out).filter((n) => n !== path.basename(dir))]; // and nothing else in --out
    r.ms = Date.now() - started;
    fs.rmSync(out, { recursive: true, force: true });
    return r;
  };
  await Promise.all(Array.from({ length: Math.min(parallel, kills) }, async () => {
    while (next < kills) {
      const i = next++;
      const r = await one(i);
      runs.push(r);
      const bad = !r.completed || !r.metricsEqual || r.leftovers.length > 0 || !r.killed;
      log(`${String(runs.length).padStart(3)}/${kills} ${r.kill.padEnd(30)} killed=${r.killed} rows@kill=${r.rowsAtKill}${r.tornAtKill ? ' torn' : ''} temps@kill=${r.tempsAtKill}${r.resumeKill ? ` resume-kill ${r.resumeKill}=${r.resumeKilled}` : ''} -> ${bad ? 'FAIL ' + JSON.stringify({ completed: r.completed, equal: r.metricsEqual, leftovers: r.leftovers }) : 'ok'} (${(r.ms / 1000).toFixed(1)} s)`);
    }
  }));
  runs.sort((a, b) => a.i - b.i);
  const failures = runs.filter((r) => !r.completed || !r.metricsEqual || r.leftovers.length > 0).length;
  const res: CrashBenchResult = { runs, kills: runs.filter((r) => r.killed).length + runs.filter((r) => r.resumeKilled).length, failures, seconds: (Date.now() - t0) / 1000, cores: os.cpus().length, loadavg: os.loadavg()[0] };
  if (opts.json) process.stdout.write(JSON.stringify(res) + '\n');
  else process.stdout.write(table(res));
  fs.rmSync(work, { recursive: true, force: true });
  if (failures) process.exitCode = 1;
  return res;
}

function table(res: CrashBenchResult): string {
  const groups = new Map<string, CrashRun[]>();
  for (const r of res.runs) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  const head = ['kill point', 'runs', 'killed', 'torn line', 'temps left by kill', 'resume killed', 'completed', 'metrics equal', 'leftovers'];
  const rows = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([g, rs]) => [g, rs.length, rs.filter((r) => r.killed).length, rs.filter((r) => r.tornAtKill).length,
    rs.reduce((a, r) => a + r.tempsAtKill, 0), `${rs.filter((r) => r.resumeKilled).length}/${rs.filter((r) => r.resumeKill).length}`, rs.filter((r) => r.completed).length,
    rs.filter((r) => r.metricsEqual).length, rs.reduce((a, r) => a + r.leftovers.length, 0)].map(String));
  const n = res.runs.length;
  const total = ['all', n, res.runs.filter((r) => r.killed).length, res.runs.filter((r) => r.tornAtKill).length, res.runs.reduce((a, r) => a + r.tempsAtKill, 0),
    `${res.runs.filter((r) => r.resumeKilled).length}/${res.runs.filter((r) => r.resumeKill).length}`, res.runs.filter((r) => r.completed).length, res.runs.filter((r) => r.metricsEqual).length,
    res.runs.reduce((a, r) => a + r.leftovers.length, 0)].map(String);
  const all = [head, ...rows, total];
  const w = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => '| ' + r.map((x, c) => (c ? x.padStart(w[c]) : x.padEnd(w[c]))).join(' | ') + ' |\n';
  return `crash bench: ${n} runs, ${res.kills} SIGKILLs, ${res.failures} failures, ${res.seconds.toFixed(0)} s (${(res.seconds / n).toFixed(1)} s per run), ${res.cores} cores, load ${res.loadavg.toFixed(2)}\n`
    + line(head) + '|' + w.map((x, c) => (c ? '-'.repeat(x + 1) + ':' : '-'.repeat(x + 2))).join('|') + '|\n' + rows.map(line).join('') + line(total);
}
