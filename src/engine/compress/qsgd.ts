/**
 * QSGD (Alistarh et al. 2017): stochastic quantisation of each LoRA factor update v (dA and dB of a
 * layer, each on its own) to s levels: entry i is sent as ||v||_2 sgn(v_i) xi_i / s, where
 * xi_i = l + 1 with probability p = s |v_i| / ||v|| - l and l otherwise (l = floor(s |v_i| / ||v||)),
 * so the server's value is unbiased. The draws come from the run's stream (seed, compress, round,
 * client, qsgd, tensor name). Sent: per tensor the norm (compression.valueBits bits), per entry a sign
 * bit and the level in ceil(log2(s + 1)) bits (fixed-length code); the head dense. Every entry is
 * sent (rho does not apply), so a controller that chooses rho cannot drive it; error feedback keeps
 * the quantisation error.
 */
import type { WeightMap } from '../model/types';
import { int } from '../schema';
import { f16Round } from './quantize';
import {
  copyDense, HEADER_BITS, loraEntries, messageShape,
  type CompressInput, type CompressOutput, type Compressor, type CompressorDefinition, type MessageCost, type MessageShape,
} from './types';

/** Bits of one entry: a sign and a level in 0..s. */
export function qsgdEntryBits(levels: number): number {
  return 1 + Math.ceil(Math.log2(levels + 1));
}

export class QsgdCompressor implements Compressor {
  readonly name = 'qsgd';
  constructor(private readonly valueBits: number, private readonly levels: number) {}

  compress({ update, rng }: CompressInput): CompressOutput {
    const s = this.levels, out: WeightMap = {};
    for (const name of Object.keys(update).filter((k) => k.includes('.lora_')).sort()) {
      const v = update[name].data, q = new Float32Array(v.length);
      let sq = 0;
      for (const x of v) sq += x * x;
      const norm = this.valueBits === 16 ? f16Round(Math.sqrt(sq)) : Math.fround(Math.sqrt(sq));
      if (norm > 0 && Number.isFinite(norm)) {
        const r = rng.child('qsgd').child(name);
        for (let i = 0; i < v.length; i++) {
          const a = Math.min(s, (Math.abs(v[i]) / norm) * s), l = Math.floor(a);
          const level = r.uniform() < a - l ? l + 1 : l;
          q[i] = Math.sign(v[i]) * norm * (level / s);
        }
      }
      out[name] = { shape: update[name].shape.slice(), data: q };
    }
    copyDense(update, out);
    if (this.valueBits === 16) for (const [k, t] of Object.entries(out)) if (!k.includes('.lora_')) for (let i = 0; i < t.data.length; i++) t.data[i] = f16Round(t.data[i]);
    return { update: out, ...this.cost(messageShape(update), 1) };
  }

  cost({ layers, denseParams }: MessageShape, _rho: number): MessageCost {
    const entries = loraEntries(layers), tensors = 2 * layers.length;
    return {
      bits: HEADER_BITS + denseParams * this.valueBits + tensors * this.valueBits + entries * qsgdEntryBits(this.levels),
      flops: 6 * entries, // norm (2 per entry) + scale, floor, draw, compare (4 per entry)
    };
  }
}

export const qsgd = {
  name: 'qsgd',
  summary: 'stochastic quantisation of each factor update to s levels',
  caps: { needsLora: true, sparsifies: false, usesK: false, errorFeedback: true },
  schema: {
    levels: int(1, 65535).default(15).meta({ description: 'qsgd: quantisation levels s; each entry costs a sign bit plus ceil(log2(s + 1)) bits (15 levels: 5 bits)' }),
  },
  create: (spec) => new QsgdCompressor(spec.valueBits, (spec.levels as number | undefined) ?? 15),
  note: (values) => ({
    title: 'QSGD',
    text: `Each LoRA factor update v (dA and dB of a layer) is quantised to s = ${values('compression.levels')} levels: entry i becomes ||v|| sgn(v_i) xi_i / s with xi_i rounded up or down at random so the value is unbiased (Alistarh et al. 2017); sent are the norm, a sign bit and a ceil(log2(s + 1))-bit level per entry; every entry is sent, so rho does not apply.`,
  }),
} as const satisfies CompressorDefinition<'qsgd'>;
