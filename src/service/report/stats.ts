/** Small-sample statistics for reports and the replication suite: mean with a Student-t 95% interval, paired differences. */

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** t_{0.975, df}; the normal quantile beyond 30 degrees of freedom. */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tQuantile975: degrees of freedom must be a positive integer, got ${df}`);
  return df <= T975.length ? T975[df - 1] : 1.96;
}

export interface Interval {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1); 0 for one value. */
  sd: number;
  /** Half-width of the 95% t-interval of the mean; null for fewer than 2 values. */
  half: number | null;
}

/** Mean and 95% t-interval of the mean. */
export function meanInterval(xs: number[]): Interval {
  const n = xs.length;
  if (!n) return { n, mean: NaN, sd: NaN, half: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, sd, half: n > 1 ? tQuantile975(n - 1) * sd / Math.sqrt(n) : null };
}

/** Paired differences a_s - b_s over the keys (seeds) present in both, with their 95% interval. */
export function pairedInterval(a: Map<number, number>, b: Map<number, number>): Interval & { seeds: number[] } {
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
  return { ...meanInterval(seeds.map((s) => a.get(s)! - b.get(s)!)), seeds };
}

/** "80.12 ± 1.30" in percentage points (± the 95% half-width; "n/a" with one seed). */
export function pct(iv: Interval, digits = 2): string {
  if (!Number.isFinite(iv.mean)) return 'n/a';
  return `${(100 * iv.mean).toFixed(digits)}${iv.half === null ? '' : ` ± ${(100 * iv.half).toFixed(digits)}`}`;
}
