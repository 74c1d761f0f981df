/**
 * `npm run bench -- ranking`: how close SOFT's SVD-free ranking comes to the optimal rank-m
 * truncation on real client updates. Trains the quick preset with SOFT (rho 0.25) for a few rounds
 * at several orthogonality weights lambda and, for every client update, compares the relative
 * error of SOFT's kept components with truncated SVD's at the same m.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { initBackend } from '../src/engine/backend';
import { makeCompressor, relativeError } from '../src/engine/compress';
import { Rng } from '../src/engine/rng';
import { parseConfig } from '../src/engine/config';
import { buildTrainer } from '../src/service/runner';

export interface RankingRow { lambda: number; updates: number; softErr: number; svdErr: number; ratio: number; worstRatio: number; orthResidual: number }

export async function benchRanking(opts: { rounds?: number; lambdas?: number[]; json?: boolean } = {}): Promise<RankingRow[]> {
  await initBackend('auto');
  const rounds = opts.rounds ?? 4, lambdas = opts.lambdas ?? [0, 0.01, 0.1];
  const base = JSON.parse(fs.readFileSync(path.resolve('configs/quick.json'), 'utf8'));
  const rows: RankingRow[] = [];
  for (const lambda of lambdas) {
    const config = parseConfig({ ...base, compression: { method: 'soft', rho: 0.25 }, soft: { lambda }, federation: { ...base.federation, rounds } });
    const trainer = await buildTrainer(config, path.resolve('configs'));
    const soft = makeCompressor(config.compression), svd = makeCompressor({ ...config.compression, method: 'svd' });
    const ratios: number[] = [];
    let se = 0, ve = 0, n = 0, orth = 0;
    trainer.onClientUpdate = (k, global, update) => {
      if (trainer.state.round === 0) return; // B = 0 before round 1: every component's change is its own new term
      const input = { global, update, layers: trainer.layers, rho: 0.25, rng: new Rng(`rank-${k}`) };
      const es = relativeError(trainer.layers, global, update, soft.compress(input));
      const ev = relativeError(trainer.layers, global, update, svd.compress(input));
      se += es; ve += ev; n++; ratios.push(es / ev);
    };
    for (let t = 0; t < rounds; t++) orth = (await trainer.runRound()).orthResidual as number;
    trainer.dispose();
    rows.push({ lambda, updates: n, softErr: se / n, svdErr: ve / n, ratio: se / ve, worstRatio: Math.max(...ratios), orthResidual: orth });
    process.stderr.write(`lambda ${lambda}: ${n} updates\n`);
  }
  const out = ['| lambda | client updates | SOFT rel. error | SVD rel. error (optimal) | SOFT / SVD | worst update | orthResidual at end |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.lambda} | ${r.updates} | ${r.softErr.toFixed(4)} | ${r.svdErr.toFixed(4)} | ${r.ratio.toFixed(3)} | ${r.worstRatio.toFixed(3)} | ${r.orthResidual.toFixed(4)} |`);
  process.stdout.write(`quick preset, SOFT rho=0.25 (m=2 of r=8), rounds 2-${rounds}, ${os.cpus().length} cores\n\n${out.join('\n')}\n`);
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'ranking', rows }) + '\n');
  return rows;
}
