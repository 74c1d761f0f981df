/**
 * FDMA bandwidth allocation for one synchronous round (docs/method.md section 3-4). A round ends when
 * the slowest client has computed and uploaded: T = max_k (compute_k + bits_k / R_k(beta_k)).
 *  - equal shares: beta_k = 1 / S;
 *  - min-max: the shares that minimise T, found by a bracketing search on T; for a candidate T each client
 *    needs the smallest share whose rate meets bits_k / (T - compute_k) (rate is increasing and
 *    concave in the share, solved by safeguarded Newton), and T is feasible when those shares sum
 *    to at most 1 (the T where they sum to 1 is found by Illinois regula falsi).
 */
import { rate, type ChannelSpec } from './channel';

export interface Demand {
  /** Seconds of local computation (training + compression) before the upload starts. */
  compute: number;
  bits: number;
  /** Channel power gain this round. */
  gain: number;
}

export interface Allocation {
  shares: number[];
  /** Round latency: the largest finish time. */
  time: number;
  finish: number[];
  rates: number[];
}

export function finishTimes(demands: Demand[], shares: number[], spec: ChannelSpec): { finish: number[]; rates: number[] } {
  const rates = demands.map((d, i) => rate(shares[i], d.gain, spec));
  const finish = demands.map((d, i) => d.compute + (d.bits > 0 ? d.bits / rates[i] : 0));
  return { finish, rates };
}

function allocation(demands: Demand[], shares: number[], spec: ChannelSpec): Allocation {
  const { finish, rates } = finishTimes(demands, shares, spec);
  return { shares, finish, rates, time: finish.length ? Math.max(...finish) : 0 };
}

export function equalAllocation(demands: Demand[], spec: ChannelSpec): Allocation {
  return allocation(demands, demands.map(() => 1 / demands.length), spec);
}

/** Smallest share in (0, 1] whose rate reaches `need` bit/s; Infinity when even the whole band is too slow. */
export function minimalShare(need: number, gain: number, spec: ChannelSpec): number {
  if (need <= 0) return 0;
  // rate(x) = W x log2(1 + a / x) with a = p g / (W N0); f(x) = rate(x) - need is increasing and
  // concave: Newton steps started left of the root stay left of it and converge monotonically;
  // bisection keeps the bracket when a step leaves it.
  const W = spec.bandwidthHz;
  const a = (10 ** ((spec.txPowerDbm - 30) / 10) * gain) / (W * 10 ** ((spec.noisePsdDbmHz - 30) / 10));
  const full = W * Math.log2(1 + a);
  if (full < need) return Infinity;
  let lo = 0, hi = 1, x = need / full;
  for (let it = 0; it < 100; it++) {
    const l = Math.log2(1 + a / x);
    const f = W * x * l - need;
    if (Math.abs(f) <= 1e-14 * need) return x;
    if (f < 0) lo = x; else hi = x;
    if (hi - lo <= 1e-15 * hi) break;
    let nx = x - f / (W * (l - a / ((x + a) * Math.LN2)));
    if (!(nx > lo && nx < hi)) nx = (lo + hi) / 2;
    x = nx;
  }
  return hi;
}

/**
 * Shares minimising the round time. Exact to `relTol` in T. When one client cannot finish sooner
 * even with the whole band, the result is that client's true minimal T (others get the rest).
 */
export function minMaxAllocation(demands: Demand[], spec: ChannelSpec, relTol = 1e-12): Allocation {
  const n = demands.length;
  if (n === 0) return { shares: [], finish: [], rates: [], time: 0 };
  const need = (T: number) => demands.map((d) => d.bits <= 0 ? 0 : T <= d.compute ? Infinity : minimalShare(d.bits / (T - d.compute), d.gain, spec));
  const total = (s: number[]) => s.reduce((a, b) => a + b, 0);
  // Lower bound: each client alone on the whole band. Upper bound: equal shares (always feasible).
  let lo = Math.max(...demands.map((d) => d.compute + (d.bits > 0 ? d.bits / rate(1, d.gain, spec) : 0)));
  let hi = Math.max(lo, equalAllocation(demands, spec).time);
  let best = need(lo);
  if (total(best) > 1) {
    // g(T) = sum of minimal shares - 1 falls as T grows: bracket [lo, hi] with g(lo) > 0 >= g(hi),
    // refined by regula falsi with the Illinois step (bisection while g(lo) is infinite).
    best = need(hi);
    let glo = total(need(lo)) - 1, ghi = total(best) - 1, side = 0;
    for (let it = 0; it < 200 && hi - lo > relTol * hi && ghi < -1e-13; it++) {
      const mid = Number.isFinite(glo) ? hi - ghi * (hi - lo) / (ghi - glo) : (lo + hi) / 2;
      const T = mid > lo && mid < hi ? mid : (lo + hi) / 2;
      const s = need(T), g = total(s) - 1;
      if (g <= 0) {
        hi = T; ghi = g; best = s;
        if (side === -1) glo /= 2;
        side = -1;
      } else {
        lo = T; glo = g;
        if (side === 1) ghi /= 2;
        side = 1;
      }
    }
    if (total(best) > 1) best = demands.map(() => 1 / n); // numerically at the equal-share optimum
  }
  // Give any slack back in proportion: shares sum to 1 and no finish time grows.
  const sum = total(best);
  const shares = sum > 0 ? best.map((s) => s / sum) : demands.map(() => 1 / n);
  return allocation(demands, shares, spec);
}
