/**
 * Seeded partitioners of a training set over clients: IID, label-Dirichlet (Hsu et al. 2019,
 * "Measuring the effects of non-identical data distribution"), and k classes per client (shards,
 * McMahan et al. 2017). Each returns, per client, its sample indices (sorted, disjoint, covering).
 */
import type { Rng } from '../rng';
import type { Partition } from './types';

export type PartitionSpec = { method: 'iid' } | { method: 'dirichlet'; alpha: number } | { method: 'shards'; classesPerClient: number };

function check(n: number, numClients: number): void {
  if (numClients > n) throw new Error(`federation.numClients: ${numClients} clients but only ${n} training samples; use fewer clients or more data`);
}

const sorted = (a: number[]) => Int32Array.from(a).sort();

export function partitionIid(labels: ArrayLike<number>, numClients: number, rng: Rng): Partition {
  check(labels.length, numClients);
  const idx = rng.shuffle(Array.from({ length: labels.length }, (_, i) => i)) as number[];
  return Array.from({ length: numClients }, (_, k) => {
    const lo = Math.floor((k * idx.length) / numClients), hi = Math.floor(((k + 1) * idx.length) / numClients);
    return sorted(idx.slice(lo, hi));
  });
}

function byClass(labels: ArrayLike<number>, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) out[labels[i]].push(i);
  return out;
}

/**
 * Work (samples + classes x clients per draw) the Dirichlet redraws may spend before giving up:
 * about a second on one core. Small federations keep the full 1000 redraws; a large one that keeps
 * leaving clients nearly empty fails in bounded time instead of blocking its caller for minutes.
 */
const DIRICHLET_WORK = 5e6;

export function partitionDirichlet(labels: ArrayLike<number>, numClients: number, alpha: number, rng: Rng, numClasses: number, minSize = 2): Partition {
  check(labels.length, numClients);
  if (labels.length < minSize * numClients) throw new Error(`federation.numClients: ${numClients} clients need at least ${minSize} training samples each (${minSize * numClients}), the data has ${labels.length}; use fewer clients or more data`);
  const classes = byClass(labels, numClasses);
  const attempts = Math.max(1, Math.min(1000, Math.floor(DIRICHLET_WORK / (labels.length + numClasses * numClients))));
  for (let attempt = 0; attempt < attempts; attempt++) {
    const parts: number[][] = Array.from({ length: numClients }, () => []);
    for (const members of classes) {
      if (!members.length) continue;
      const idx = rng.shuffle(members.slice()) as number[];
      const p = rng.dirichlet(alpha, numClients);
      let start = 0, cum = 0;
      for (let k = 0; k < numClients; k++) {
        cum += p[k];
        const end = k === numClients - 1 ? idx.length : Math.round(cum * idx.length);
        for (let i = start; i < end; i++) parts[k].push(idx[i]);
        start = Math.max(start, end);
      }
    }
    if (parts.every((p) => p.length >= minSize)) return parts.map(sorted);
  }
  throw new Error(`federation.partition.alpha: Dirichlet(${alpha}) left a client with fewer than ${minSize} samples after ${attempts} draws; use a larger alpha or fewer clients`);
}

export function partitionShards(labels: ArrayLike<number>, numClients: number, classesPerClient: number, rng: Rng, numClasses: number): Partition {
  check(labels.length, numClients);
  const order = byClass(labels, numClasses).flat();
  const numShards = numClients * classesPerClient;
  if (numShards > labels.length) throw new Error(`federation.partition.classesPerClient: ${numShards} shards for ${labels.length} samples; use fewer classes per client`);
  const shardIds = rng.shuffle(Array.from({ length: numShards }, (_, i) => i)) as number[];
  return Array.from({ length: numClients }, (_, k) => {
    const mine: number[] = [];
    for (let j = 0; j < classesPerClient; j++) {
      const s = shardIds[k * classesPerClient + j];
      const lo = Math.floor((s * order.length) / numShards), hi = Math.floor(((s + 1) * order.length) / numShards);
      for (let i = lo; i < hi; i++) mine.push(order[i]);
    }
    return sorted(mine);
  });
}

export function partition(spec: PartitionSpec, labels: ArrayLike<number>, numClients: number, numClasses: number, rng: Rng): Partition {
  switch (spec.method) {
    case 'iid': return partitionIid(labels, numClients, rng);
    case 'dirichlet': return partitionDirichlet(labels, numClients, spec.alpha, rng, numClasses);
    case 'shards': return partitionShards(labels, numClients, spec.classesPerClient, rng, numClasses);
  }
}

export function labelHistogram(labels: ArrayLike<number>, parts: Partition, numClasses: number): number[][] {
  return parts.map((p) => { const h = new Array(numClasses).fill(0); for (const i of p) h[labels[i]]++; return h; });
}

/** Mean over clients of the total-variation distance between its label distribution and the global one. */
export function meanTotalVariation(labels: ArrayLike<number>, parts: Partition, numClasses: number): number {
  const global = new Array(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) global[labels[i]] += 1 / labels.length;
  const hists = labelHistogram(labels, parts, numClasses);
  let sum = 0;
  hists.forEach((h, k) => {
    const n = parts[k].length;
    if (!n) return;
    sum += 0.5 * h.reduce((a, c, j) => a + Math.abs(c / n - global[j]), 0);
  });
  return sum / parts.length;
}
