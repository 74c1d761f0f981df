/**
 * Server aggregation (McMahan et al. 2017, FedAvg; Zhang et al. 2024, FedIT): the weighted mean of
 * client updates, computed for every named tensor on its own, so LoRA's A and B are averaged
 * separately. With element masks, an element is averaged over the clients that sent it only.
 */
import type { WeightMap } from '../model/types';

export interface ReceivedUpdate {
  /** Weight of this client, n_k (its shard size). */
  weight: number;
  update: WeightMap;
  /** Optional per-tensor element mask (1 = sent). A tensor without a mask was sent whole. */
  sent?: Record<string, Uint8Array>;
}

/** sum_k w_k u_k / sum_k w_k per element (over the clients that sent the element). */
export function weightedMean(received: ReceivedUpdate[]): WeightMap {
  if (received.length === 0) throw new Error('aggregate: no updates');
  const out: WeightMap = {};
  for (const name of Object.keys(received[0].update)) {
    const len = received[0].update[name].data.length;
    const num = new Float64Array(len), den = new Float64Array(len);
    for (const r of received) {
      const u = r.update[name];
      if (!u || u.data.length !== len) throw new Error(`aggregate: tensor "${name}" missing or of another size`);
      const mask = r.sent?.[name];
      for (let i = 0; i < len; i++) {
        if (mask && !mask[i]) continue;
        num[i] += r.weight * u.data[i];
        den[i] += r.weight;
      }
    }
    const mean = new Float32Array(len);
    for (let i = 0; i < len; i++) mean[i] = den[i] > 0 ? num[i] / den[i] : 0;
    out[name] = { shape: received[0].update[name].shape.slice(), data: mean };
  }
  return out;
}
