/**
 * 16-bit values (`compression.valueBits: 16`): every value a client sends is rounded to the nearest
 * IEEE half-precision number (ties to even) before it leaves the client, so the server aggregates
 * exactly what 16 bits can carry and error feedback keeps the rounding error in the residual.
 */
import type { WeightMap } from '../model/types';
import type { CompressInput, CompressOutput, Compressor, MessageCost, MessageShape } from './types';

/** Nearest float16 value of x (round half to even; overflow to +-Infinity; subnormals kept). */
export function f16Round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return x > 0 ? Infinity : -Infinity; // beyond max 65504 + half an ulp
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; else if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10); // subnormals share the exponent -14
  const q = a / ulp; // exact: ulp is a power of two
  let r = Math.round(q);
  if (q - Math.floor(q) === 0.5 && r % 2 !== 0) r -= 1;
  return Math.sign(x) * r * ulp;
}

function roundMap(w: WeightMap): void {
  for (const t of Object.values(w)) for (let i = 0; i < t.data.length; i++) t.data[i] = f16Round(t.data[i]);
}

export class Float16Values implements Compressor {
  readonly name: string;
  constructor(private readonly inner: Compressor) { this.name = inner.name; }

  compress(input: CompressInput): CompressOutput {
    const out = this.inner.compress(input);
    roundMap(out.update); // a product update (svd) is formed from factors its compressor already rounded
    return out;
  }

  cost(shape: MessageShape, rho: number): MessageCost { return this.inner.cost(shape, rho); }
}

/** `c`, with what it sends rounded to float16 when the run's values are 16-bit. */
export function withValueBits(c: Compressor, valueBits: number): Compressor {
  return valueBits === 16 ? new Float16Values(c) : c;
}
