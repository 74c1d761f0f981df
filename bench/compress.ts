/**
 * `npm run bench -- compress`: cost of SOFT's selection (importance from norms and dot products,
 * then top-m) against SVD truncation (form dW = B'A' - BA, randomized truncated SVD) for one
 * square layer d x d at rank r, keeping m = ceil(r/4) components. Median wall time of repeated
 * calls on random factors, plus each method's operation count as charged to the simulated clock.
 */
import { performance } from 'node:perf_hooks';
import { makeCompressor } from '../src/engine/compress';
import { loraLayers } from '../src/engine/compress/types';
import type { WeightMap } from '../src/engine/model/types';
import { Rng } from '../src/engine/rng';
import { median } from './median';

export interface CompressBenchRow { d: number; r: number; softMs: number; svdMs: number; speedup: number; softFlops: number; svdFlops: number }


function layer(d: number, r: number, rng: Rng): { global: WeightMap; update: WeightMap } {
  const w = (shape: number[], std: number) => ({ shape, data: rng.normalArray(shape[0] * shape[1], std) });
  return { global: { 'L.lora_a': w([d, r], 1), 'L.lora_b': w([r, d], 1) }, update: { 'L.lora_a': w([d, r], 0.1), 'L.lora_b': w([r, d], 0.1) } };
}

function time(fn: () => unknown, budgetMs: number, maxReps: number): number {
  const ts: number[] = [];
  const start = performance.now();
  do { const t = performance.now(); fn(); ts.push(performance.now() - t); } while (ts.length < maxReps && performance.now() - start < budgetMs);
  return median(ts);
}

export function benchCompressRows(dims = [64, 128, 256, 512, 768, 1024], ranks = [4, 8, 16, 32, 64]): CompressBenchRow[] {
  const rows: CompressBenchRow[] = [];
  const opts = { method: 'soft' as const, rho: 0.25, valueBits: 32 as const, importance: 'exact' as const, errorFeedback: false };
  const soft = makeCompressor(opts), svd = makeCompressor({ ...opts, method: 'svd' });
  for (const d of dims) {
    for (const r of ranks) {
      if (r > d) continue;
      const f = layer(d, r, new Rng(`bench-${d}-${r}`));
      const input = { ...f, layers: loraLayers(f.global), rho: 0.25, rng: new Rng('b') };
      const softMs = time(() => soft.compress(input), 300, 200);
      const svdMs = time(() => svd.compress(input), 1500, 20);
      rows.push({ d, r, softMs, svdMs, speedup: svdMs / softMs, softFlops: soft.compress(input).flops, svdFlops: svd.compress(input).flops });
    }
  }
  return rows;
}

export async function benchCompress(opts: { json?: boolean } = {}): Promise<CompressBenchRow[]> {
  const rows = benchCompressRows();
  const out = ['| d | r | SOFT select ms | SVD truncate ms | SVD / SOFT time | SOFT flops | SVD flops |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.d} | ${r.r} | ${r.softMs.toFixed(3)} | ${r.svdMs.toFixed(2)} | ${r.speedup.toFixed(0)}x | ${r.softFlops.toExponential(2)} | ${r.svdFlops.toExponential(2)} |`);
  process.stdout.write(out.join('\n') + '\n');
  const key = rows.find((r) => r.d === 768 && r.r === 16);
  if (key) process.stdout.write(`\nd=768, r=16: SOFT ${key.softMs.toFixed(3)} ms vs SVD ${key.svdMs.toFixed(1)} ms -> ${key.speedup.toFixed(0)}x faster (target >= 20x)\n`);
  if (opts.json) process.stdout.write(JSON.stringify({ bench: 'compress', rows }) + '\n');
  return rows;
}
