/**
 * The simulated clock of a run (docs/method.md section 3-4), independent of tfjs: which clients a round
 * samples, what each message costs, how long each client computes, the channel, and the
 * controller's plan. The trainer, the offline stage, `fedlora simulate` and config-time
 * feasibility checks all use this one model, so they agree to the bit.
 */
import { Channel, type ChannelSpec } from '../channel/channel';
import { HEADER_BITS, loraEntries, messageShape, type CompressionSpec, type Compressor, type MessageCost, type MessageShape } from '../compress/types';
import { compressorDef, makeCompressor } from '../compress';
import { plannedSamples } from '../data/batches';
import { trainableShapes, trainFlopsPerSample } from '../model';
import type { LoraSpec, ModelSpec, TrainMode } from '../model/types';
import { Rng } from '../rng';
import { controllerDef } from './index';
import type { ControlSpec, Controller, RoundPlan } from './types';
import type { Demand } from '../channel/allocation';

/** The parts of a run's config the clock reads (a resolved experiment config is one). */
export interface ClockConfig {
  seed: number;
  lora: LoraSpec & { rank: number };
  train: { mode: TrainMode; batchSize: number; localEpochs: number; localSteps: number | null };
  federation: { numClients: number; clientsPerRound: number };
  channel: ChannelSpec;
  compression: CompressionSpec & { k: number | null };
  control: ControlSpec;
}

export interface ClockInput {
  config: ClockConfig;
  /** Model spec with the task's number of classes. */
  spec: ModelSpec;
  /** Training samples per client (the partition). */
  shardSizes: number[];
  /** The run's compressor, when the caller already built it (one instance per run); else made from the config. */
  compressor?: Compressor;
}

/** Clients of round t (1-based), sorted: the stream (seed, "sample", t). */
export function sampleClients(seed: number, t: number, numClients: number, perRound: number): number[] {
  return Rng.fromSeed(seed).child('sample').child(t).sample(numClients, perRound).sort((a, b) => a - b);
}

/** The simulated-clock fields of a round's metrics row (README, "metrics.jsonl fields"). */
export interface RoundTiming {
  rho: number;
  /** Virtual queue after this round. */
  queue: number;
  predictedError: number | null;
  roundTime: number;
  /** Compute and upload time of the slowest client. */
  computeTime: number;
  commTime: number;
  uplinkBits: number;
  /** Per sampled client, in the order of clientIds. */
  clientIds: number[];
  clientBits: number[];
  clientComputeTime: number[];
  gains: number[];
  shares: number[];
  rates: number[];
}

export class RoundClock {
  readonly channel: Channel;
  readonly controller: Controller;
  readonly shape: MessageShape;
  readonly flopsPerSample: number;
  readonly compressor: Compressor;
  /** Whether clients send their importance profile with each update (the controller uses them). */
  readonly usesProfiles: boolean;
  /** Bits of that profile per message (r values per layer), 0 when the controller does not use it. */
  readonly profileBits: number;

  constructor(private readonly input: ClockInput) {
    const cfg = input.config;
    this.shape = messageShape(Object.fromEntries(Object.entries(trainableShapes(input.spec, cfg.lora, cfg.train.mode)).map(([k, shape]) => [k, { shape }])));
    this.compressor = input.compressor ?? makeCompressor(cfg.compression);
    this.flopsPerSample = trainFlopsPerSample(input.spec, cfg.train.mode === 'lora' ? cfg.lora : undefined);
    this.channel = new Channel(cfg.channel, cfg.federation.numClients, Rng.fromSeed(cfg.seed).child('channel'));
    this.usesProfiles = controllerDef(cfg.control.method).caps.usesProfiles;
    this.profileBits = this.usesProfiles ? this.shape.layers.reduce((n, l) => n + l.rank, 0) * cfg.compression.valueBits : 0;
    const sparsifies = compressorDef(cfg.compression.method).caps.sparsifies && this.shape.layers.length > 0;
    this.controller = controllerDef(cfg.control.method).create({ spec: cfg.control, channel: cfg.channel, fixedRho: this.fixedRho(), rank: cfg.lora.rank, sparsifies });
  }

  sampleClients(t: number): number[] {
    const f = this.input.config.federation;
    return sampleClients(this.input.config.seed, t, f.numClients, f.clientsPerRound);
  }

  /** Ratio of the fixed controllers: 1 for dense; compression.k / total entries when k is set. */
  fixedRho(): number {
    const c = this.input.config.compression, caps = compressorDef(c.method).caps;
    if (!caps.sparsifies) return 1;
    if (c.k !== null && caps.usesK) return c.k / loraEntries(this.shape.layers);
    return c.rho;
  }

  /** Per-client message cost at ratio rho: the compressor's formula plus the importance profile. */
  messageCost(rho: number): MessageCost {
    const c = this.compressor.cost(this.shape, rho);
    return { bits: c.bits + this.profileBits, flops: c.flops };
  }

  /** Seconds to broadcast the global trainable weights at 32 bits (0 when the downlink is not modelled). */
  downlinkTime(): number {
    const mbps = this.input.config.channel.downlinkMbps;
    if (mbps === null) return 0;
    return (HEADER_BITS + (loraEntries(this.shape.layers) + this.shape.denseParams) * 32) / (mbps * 1e6);
  }

  /** Seconds client k trains in a round at its device's speed (plus the downlink, when modelled). */
  trainTime(k: number): number {
    return this.downlinkTime() + plannedSamples(this.input.shardSizes[k], this.input.config.train) * this.flopsPerSample / this.channel.devices[k].flops;
  }

  /** What client k needs in a round: training + compression time at its speed, the message's bits, its gain. */
  demand(k: number, cost: MessageCost, gain: number): Demand {
    return { compute: this.trainTime(k) + cost.flops / this.channel.devices[k].flops, bits: cost.bits, gain };
  }

  /** Close a round: advance the virtual queue with its latency and report the timing fields. */
  finishRound(clients: number[], plan: RoundPlan): RoundTiming {
    this.controller.observe(plan.time);
    const slowest = plan.finish.indexOf(plan.time);
    return {
      rho: plan.rho, queue: this.controller.queue, predictedError: plan.predictedError,
      roundTime: plan.time, computeTime: plan.computeTime[slowest], commTime: plan.time - plan.computeTime[slowest],
      uplinkBits: plan.bits.reduce((a, b) => a + b, 0),
      clientIds: clients, clientBits: plan.bits, clientComputeTime: plan.computeTime,
      gains: plan.gains, shares: plan.shares, rates: plan.rates,
    };
  }

  /** The controller's decision for round t (uses and does not change the controller state). */
  plan(t: number, clients: number[]): RoundPlan {
    const gains = clients.map((k) => this.channel.gain(t, k));
    return this.controller.plan(clients, (rho) => {
      const cost = this.messageCost(rho);
      return clients.map((k, i) => this.demand(k, cost, gains[i]));
    });
  }
}
