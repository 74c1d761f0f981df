/**
 * `npm run bench -- <name> [options]`: the named benchmarks. Each is loaded only when asked for.
 *   step        [--model base|d128|vit-tiny] [--spec JSON] [--steps N] [--warmup N] [--runs N] [--engine-only] [--ab-gemm | --ab-attention | --ab-kernels REV] [--profile] [--kernel-times] [--backend B] [--json]   one train step, tfjs vs PyTorch
 *   gemm        [--model base|d128|vit-tiny] [--spec JSON] [--json]   the engine GEMM vs tfjs matMul on the model's projection shapes
 *   kernels     [--model base|d128|vit-tiny] [--spec JSON] [--baseline REV] [--rounds N] [--json]   the fused wasm kernels on a step's shapes (vs the module of a git revision)
 *   compress    [--json]                                           SOFT selection vs SVD truncation
 *   memory      [--backend B] [--rounds N] [--clients N] [--spec JSON] [--json]  RSS with 100 trained clients; tensor growth over N rounds
 *   ranking     [--rounds N] [--json]                              SOFT ranking vs optimal SVD
 *   soft-table  [--rounds N] [--out DIR]                           the SOFT communication table
 *   clients     [--workers N] [--rounds N] [--json]                 clients/s on 1 vs N worker threads, round overhead
 *   backends    [--backends wasm,webgpu] [--model base|vit-tiny] [--steps N] [--warmup N] [--batch N] [--profile] [--json]   one train step per backend
 *   crash       [--kills N] [--seed S] [--parallel P] [--json]      SIGKILL + resume of CLI runs: identical metrics, no leftovers
 *   queue       [--rounds N] [--workers 1,2] [--json]              clients/s through Redis + BullMQ vs local, per-job overhead, bytes/round
 * Unknown name: usage on stderr, exit code 2.
 */
type Opts = Record<string, string | boolean>;
const num = (o: Opts, k: string) => (typeof o[k] === 'string' ? Number(o[k]) : undefined);
const str = (o: Opts, k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);

export const BENCHMARKS: Record<string, (o: Opts) => Promise<unknown>> = {
  step: async (o) => (await import('./step')).benchStep({ model: str(o, 'model'), spec: str(o, 'spec'), steps: num(o, 'steps'), warmup: num(o, 'warmup'), runs: num(o, 'runs'), backend: str(o, 'backend'), json: !!o.json, engineOnly: !!o['engine-only'], abGemm: !!o['ab-gemm'], abAttention: !!o['ab-attention'], abKernels: str(o, 'ab-kernels'), profile: !!o.profile, kernelTimes: !!o['kernel-times'] }),
  gemm: async (o) => (await import('./gemm')).benchGemm({ model: str(o, 'model'), spec: str(o, 'spec'), json: !!o.json }),
  kernels: async (o) => (await import('./kernels')).benchKernels({ model: str(o, 'model'), spec: str(o, 'spec'), baseline: str(o, 'baseline'), rounds: num(o, 'rounds'), json: !!o.json }),
  compress: async (o) => (await import('./compress')).benchCompress({ json: !!o.json }),
  memory: async (o) => (await import('./memory')).benchMemory({ backend: str(o, 'backend'), json: !!o.json, rounds: num(o, 'rounds'), clients: num(o, 'clients'), spec: str(o, 'spec') }),
  ranking: async (o) => (await import('./ranking')).benchRanking({ rounds: num(o, 'rounds'), json: !!o.json }),
  'soft-table': async (o) => (await import('./soft-table')).softTable({ rounds: num(o, 'rounds'), out: str(o, 'out') }),
  clients: async (o) => (await import('./clients')).benchClients({ workers: num(o, 'workers'), rounds: num(o, 'rounds'), json: !!o.json }),
  backends: async (o) => (await import('./backends')).benchBackends({ backends: str(o, 'backends'), model: str(o, 'model'), steps: num(o, 'steps'), warmup: num(o, 'warmup'), batch: num(o, 'batch'), json: !!o.json, child: !!o.child, profile: !!o.profile }),
  queue: async (o) => (await import('./queue')).benchQueue({ rounds: num(o, 'rounds'), workers: str(o, 'workers'), json: !!o.json }),
  crash: async (o) => (await import('./crash')).benchCrash({ kills: num(o, 'kills'), seed: num(o, 'seed'), parallel: num(o, 'parallel'), rounds: num(o, 'rounds'), json: !!o.json }),
};

export function usage(): string {
  return `usage: npm run bench -- <name> [options]\nbenchmarks: ${Object.keys(BENCHMARKS).join(', ')}\n`;
}

/** `--key value` and `--flag` pairs. */
export function parseOpts(args: string[]): Opts {
  const o: Opts = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) continue;
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('--')) { o[a.slice(2)] = next; i++; } else o[a.slice(2)] = true;
  }
  return o;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const bench = name !== undefined ? BENCHMARKS[name] : undefined;
  if (!bench) {
    process.stderr.write((name && name !== '--help' && name !== '-h' ? `unknown benchmark "${name}"\n` : '') + usage());
    return 2;
  }
  await bench(parseOpts(rest));
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
