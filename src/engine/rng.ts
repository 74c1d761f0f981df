/**
 * Seeded, splittable random number generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting RNG,
 * from PractRand) with seeds derived by hashing a path of labels (cyrb128-style mixing).
 *
 * Written here rather than taken from a package because the engine needs three things together that
 * common packages (seedrandom, pure-rand) do not give in one small API: (1) named child streams so a
 * new consumer never shifts the draws of an existing one (the channel RNG depends only on seed and
 * round, never on the method), (2) a 4 x uint32 state that is checkpointed and restored exactly, and
 * (3) float64 uniforms identical on every platform (only 32-bit integer ops).
 */

export type RngState = [number, number, number, number];

/** Hash a string to four 32-bit words (cyrb128 mixing). */
function hash128(str: string): RngState {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4; h2 ^= h1; h3 ^= h1; h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spareNormal: number | null = null;

  /** `path` names this stream; children append to it. */
  constructor(readonly path: string, state?: RngState) {
    const s = state ?? hash128(path);
    this.a = s[0]; this.b = s[1]; this.c = s[2]; this.d = s[3];
    if (!state) for (let i = 0; i < 12; i++) this.nextU32(); // warm up
  }

  /** Root stream of a run. */
  static fromSeed(seed: number): Rng { return new Rng(`seed:${seed}`); }

  /** An independent stream whose draws depend only on this stream's path and `label`. */
  child(label: string | number): Rng { return new Rng(`${this.path}/${label}`); }

  getState(): RngState { return [this.a, this.b, this.c, this.d]; }
  setState(s: RngState): void { [this.a, this.b, this.c, this.d] = s; this.spareNormal = null; }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 bits of randomness. */
  uniform(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.uniform() * n); }

  /** Standard normal (Box-Muller, caches the second value). */
  normal(): number {
    if (this.spareNormal !== null) { const s = this.spareNormal; this.spareNormal = null; return s; }
    let u = 0; while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with mean 1. */
  exponential(): number { let u = 0; while (u === 0) u = this.uniform(); return -Math.log(u); }

  /** Gamma(shape, 1) by Marsaglia-Tsang (shape < 1 via the boost u^(1/shape)). */
  gamma(shape: number): number {
    if (shape < 1) { let u = 0; while (u === 0) u = this.uniform(); return this.gamma(shape + 1) * Math.pow(u, 1 / shape); }
    const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do { x = this.normal(); v = 1 + c * x; } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Dirichlet(alpha, ..., alpha) of dimension k. */
  dirichlet(alpha: number, k: number): number[] {
    const g = Array.from({ length: k }, () => this.gamma(alpha));
    const s = g.reduce((a, b) => a + b, 0);
    return s > 0 ? g.map((x) => x / s) : g.map(() => 1 / k);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(arr: T[] | Int32Array | Uint32Array): typeof arr {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i]; arr[i] = arr[j]; arr[j] = t;
    }
    return arr;
  }

  /** k distinct indices from [0, n), in draw order. */
  sample(n: number, k: number): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
    }
    return idx.slice(0, k);
  }

  /** Float32Array of normals with standard deviation `std`. */
  normalArray(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }
}
