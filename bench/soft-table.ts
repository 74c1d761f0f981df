/**
 * `npm run bench -- soft-table [--rounds N]`: the SOFT communication experiment of docs/results.md.
 * Runs the quick preset for N rounds (default 10) with each compressor on identical data and
 * seeds, and prints accuracy, uplink bits and their share of dense as a Markdown table.
 * Top-k and random-k get the ratio that gives them SOFT's payload (equal bits).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { executeRun } from '../src/service/runner';
import { createRunDir, readMetrics } from '../src/service/runs/runStore';
import { validateRunConfig } from '../src/service/validate';
import { positionBits } from '../src/engine/compress/types';

interface Variant { label: string; over: Record<string, unknown> }

export async function softTable(opts: { rounds?: number; out?: string } = {}): Promise<void> {
  const rounds = opts.rounds ?? 10;
  const base = JSON.parse(fs.readFileSync(path.resolve('configs/quick.json'), 'utf8'));
  // equal payload: SOFT at rho 0.25 sends 2 of 8 components of 8 layers of d_in + d_out = 128
  const softLoraBits = 8 * 2 * 128 * 32, entries = 8 * 8 * 128;
  // top-k: the most entries whose values and positions (positionBits: mask or list) fit in SOFT's LoRA bits
  let k = 1;
  while (k < entries && 32 * (k + 1) + positionBits(k + 1, entries) <= softLoraBits) k++;
  const topkRho = k / entries;
  const randkRho = softLoraBits / 32 / entries;
  const variants: Variant[] = [
    { label: 'dense FedIT (none)', over: { compression: { method: 'none' } } },
    { label: 'SOFT rho=0.25, lambda=0.01', over: { compression: { method: 'soft', rho: 0.25 }, soft: { lambda: 0.01 } } },
    { label: 'SOFT rho=0.25, lambda=0', over: { compression: { method: 'soft', rho: 0.25 } } },
    { label: `top-k rho=${topkRho.toFixed(3)} (equal bits)`, over: { compression: { method: 'topk', rho: topkRho } } },
    { label: `random-k rho=${randkRho.toFixed(3)} (equal bits)`, over: { compression: { method: 'randk', rho: randkRho } } },
    { label: 'SVD truncation rho=0.25', over: { compression: { method: 'svd', rho: 0.25 } } },
  ];
  const outDir = opts.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'soft-table-'));
  const lines = ['| method | final acc | best acc | uplink bits | share of dense | mean sparsError | mean covNorm | compress ms/round |', '|---|---|---|---|---|---|---|---|'];
  let denseBits = 0;
  for (const v of variants) {
    const input = { ...base, ...v.over, name: v.label, federation: { ...base.federation, rounds } };
    const r = validateRunConfig(input, path.resolve('configs'));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const dir = createRunDir(outDir, r.config, {}, os.cpus().length);
    const s = await executeRun(dir, { onRound: (m) => process.stderr.write(`${v.label}: round ${m.round} acc ${m.testAcc}\n`) });
    const rows = readMetrics<Record<string, number | null>>(dir).rows;
    if (!denseBits) denseBits = s.totalUplinkBits;
    const mean = (k: string) => { const xs = rows.map((x) => x[k]).filter((x): x is number => typeof x === 'number'); return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null; };
    const f = (x: number | null, d = 3) => (x === null ? 'n/a' : x.toFixed(d));
    lines.push(`| ${v.label} | ${(100 * s.finalAcc!).toFixed(2)}% | ${(100 * s.bestAcc!).toFixed(2)}% | ${s.totalUplinkBits} | ${(100 * s.totalUplinkBits / denseBits).toFixed(1)}% | ${f(mean('sparsError'))} | ${f(mean('covNorm'))} | ${f(mean('compressMs'), 1)} |`);
  }
  process.stdout.write(`quick preset, ${rounds} rounds, seed ${base.seed}; runs in ${outDir}\n\n${lines.join('\n')}\n`);
}
