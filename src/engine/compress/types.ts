/**
 * The compressor interface (docs/method.md section 2): a client's update in, what the server receives
 * out, with exact bits from a formula and an operation count for the simulated clock.
 */
import type { WeightMap } from '../model/types';
import type { Rng } from '../rng';
import type { Mat } from './linalg';
import type { PluginDefinition } from '../plugin';

/** One LoRA-adapted projection: `${name}.lora_a` is [din, rank], `${name}.lora_b` is [rank, dout]. */
export interface LoraLayer { name: string; din: number; dout: number; rank: number }

export interface CompressInput {
  /** Factors and head before local training. */
  global: WeightMap;
  /** Local minus global, for every trainable tensor. */
  update: WeightMap;
  layers: LoraLayer[];
  /** Sparsification ratio of this round, in (0, 1]. */
  rho: number;
  /** Seeded per (round, client): random-k draws and SVD sketches. */
  rng: Rng;
}

export interface CompressOutput {
  /** What the server reconstructs, dense (zeros where nothing was sent). */
  update: WeightMap;
  /** Element masks: an element is averaged over the clients that sent it. Absent: dense averaging. */
  sent?: Record<string, Uint8Array>;
  /** Uplink payload in bits, from the method's formula (header included). */
  bits: number;
  /** Floating-point operations the method costs on the device (charged at its speed). */
  flops: number;
  /** Per layer, each component's importance s_i (SOFT): feeds TSFA's predicted error. */
  importance?: Record<string, Float64Array>;
  /** Per layer, indices of the components sent. */
  selected?: Record<string, number[]>;
  /** SVD baseline: low-rank dW_hat per layer, [din, dout] (x W convention), instead of factor deltas. */
  productUpdate?: Record<string, Mat>;
}

/** Shape of one client's message: the LoRA layers plus the dense (non-LoRA) entries, e.g. the head. */
export interface MessageShape { layers: LoraLayer[]; denseParams: number }

/** Payload and device work of one message, known before training (it depends on shapes and rho only). */
export interface MessageCost { bits: number; flops: number }

export interface Compressor {
  readonly name: string;
  compress(input: CompressInput): CompressOutput;
  /** The bits/flops formula `compress` reports, from shapes alone: what the controller plans with. */
  cost(shape: MessageShape, rho: number): MessageCost;
}

/** Message shape of an update (or of the trainable weights). */
export function messageShape(w: Record<string, { shape: number[] }>): MessageShape {
  let denseParams = 0;
  for (const [k, v] of Object.entries(w)) if (!k.includes('.lora_')) denseParams += v.shape.reduce((a, b) => a * b, 1);
  return { layers: loraLayers(w), denseParams };
}

/** Total LoRA factor entries. */
export function loraEntries(layers: LoraLayer[]): number {
  return layers.reduce((n, l) => n + l.rank * (l.din + l.dout), 0);
}

export interface CompressionSpec {
  /** A registered compressor's name (compress/index.ts). */
  method: string;
  rho: number;
  valueBits: 32 | 16;
  errorFeedback: boolean;
  /** Fields a compressor adds to the config (its definition's `schema`), e.g. qsgd's levels. */
  [field: string]: unknown;
}

export interface CompressorCaps {
  /** Compresses LoRA factors: a run without LoRA layers (train.mode head-only/full) cannot use it. */
  needsLora: boolean;
  /** rho changes what is sent (a controller choosing rho needs this). */
  sparsifies: boolean;
  /** compression.k (a number of entries) may replace rho. */
  usesK: boolean;
  /** Sends factor-space updates whose unsent part error feedback keeps (compression.errorFeedback applies). */
  errorFeedback: boolean;
}

/** One compressor plug-in: its file exports this, compress/index.ts registers it (docs/extending.md). */
export interface CompressorDefinition<Name extends string = string> extends PluginDefinition<Name> {
  readonly caps: CompressorCaps;
  /** The compressor for a run's `compression` config (with 16-bit values when compression.valueBits is 16). */
  create(spec: CompressionSpec): Compressor;
}

/** Bits per message header: client id + round. */
export const HEADER_BITS = 64;

/**
 * Bits that say which `kept` of `total` positions were sent, for every method that sends a subset:
 * a `total`-bit mask or `kept` indices of ceil(log2 total) bits, whichever is smaller.
 */
export function positionBits(kept: number, total: number): number {
  return Math.min(total, kept * Math.max(1, Math.ceil(Math.log2(total))));
}

/** LoRA layers present in a weight map, in name order. */
export function loraLayers(w: Record<string, { shape: number[] }>): LoraLayer[] {
  return Object.keys(w).filter((k) => k.endsWith('.lora_a')).sort().map((k) => {
    const name = k.slice(0, -'.lora_a'.length);
    const [din, rank] = w[k].shape, dout = w[`${name}.lora_b`].shape[1];
    return { name, din, dout, rank };
  });
}

/** Components kept per layer at ratio rho: ceil(rho r), at least 1. */
export function keptComponents(rho: number, rank: number): number {
  return Math.max(1, Math.min(rank, Math.ceil(rho * rank - 1e-9)));
}

/** Copy the non-LoRA tensors (the head) into `out`. */
export function copyDense(update: WeightMap, out: WeightMap): void {
  for (const [k, v] of Object.entries(update)) if (!k.includes('.lora_')) out[k] = { shape: v.shape.slice(), data: Float32Array.from(v.data) };
}
