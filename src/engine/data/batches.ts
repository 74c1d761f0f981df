/** How a client's shard is cut into batches each round (training and the simulated clock agree). */
import type { Rng } from '../rng';

/** Batches for one pass over `indices`, shuffled by `rng`; the last partial batch is kept. */
export function batchOrder(indices: Int32Array, batchSize: number, rng: Rng): Int32Array[] {
  const perm = rng.shuffle(Int32Array.from(indices)) as Int32Array;
  const out: Int32Array[] = [];
  for (let i = 0; i < perm.length; i += batchSize) out.push(perm.subarray(i, Math.min(i + batchSize, perm.length)));
  return out;
}

/** Samples `localTrain` processes on a shard of n samples (known before training: the simulated clock uses it). */
export function plannedSamples(n: number, spec: { batchSize: number; localEpochs: number; localSteps: number | null }): number {
  if (n === 0) return 0;
  if (spec.localSteps === null) return spec.localEpochs * n;
  const perEpoch = Math.ceil(n / spec.batchSize);
  const full = Math.floor(spec.localSteps / perEpoch), rest = spec.localSteps % perEpoch;
  return full * n + rest * spec.batchSize;
}
