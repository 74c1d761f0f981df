/**
 * The channel and controller alone (no training): `fedlora simulate`. Each round samples clients,
 * lets the controller plan rho and shares, advances the virtual queue with the round latency and
 * feeds the controller the clients' importance profiles: a seeded synthetic profile (power-law
 * decay with log-normal noise) or fixed tails recorded by a training run.
 */
import { minMaxAllocation } from '../channel/allocation';
import { keptComponents } from '../compress/types';
import { Rng } from '../rng';
import type { ControlState, RoundPlan } from './types';
import type { RoundClock, RoundTiming } from './clock';

export type ProfileSource =
  | { kind: 'synthetic'; seed: number; decay: number; noise: number }
  | { kind: 'recorded'; tails: ControlState['tails'] };

export interface SimRow extends RoundTiming {
  round: number;
  cumTime: number;
  cumUplinkBits: number;
  /** Realised sparsification error of the plan: the same tail share, from this round's profiles. */
  sparsError: number | null;
}

/** A synthetic importance profile of client k in round t: s_i = i^-decay * exp(noise * N(0,1)), one layer. */
export function syntheticProfile(src: Extract<ProfileSource, { kind: 'synthetic' }>, rank: number, t: number, k: number): Record<string, number[]> {
  const r = Rng.fromSeed(src.seed).child('synthetic-profile').child(t).child(k);
  return { synthetic: Array.from({ length: rank }, (_, i) => (i + 1) ** -src.decay * Math.exp(src.noise * r.normal())) };
}

export interface SimState { round: number; cumTime: number; cumUplinkBits: number; control: ControlState }

export function newSimState(): SimState {
  return { round: 0, cumTime: 0, cumUplinkBits: 0, control: { queue: 0, tails: {} } };
}

/** Advance one round; mutates `state`. */
export function simulateRound(lm: RoundClock, state: SimState, source: ProfileSource, rank: number): SimRow {
  const t = state.round + 1;
  const ctl = lm.controller;
  ctl.setState(state.control);
  if (source.kind === 'recorded' && t === 1) ctl.setState({ queue: state.control.queue, tails: { ...state.control.tails, ...source.tails } });
  const clients = lm.sampleClients(t);
  const plan: RoundPlan = lm.plan(t, clients);
  let sparsError: number | null = null;
  if (plan.predictedError !== null) {
    const m = keptComponents(plan.rho, rank);
    let sum = 0;
    for (const k of clients) {
      if (source.kind === 'synthetic') ctl.recordProfile(k, syntheticProfile(source, rank, t, k));
      sum += ctl.tail(k)?.[m] ?? plan.predictedError;
    }
    sparsError = sum / clients.length;
  }
  const timing = lm.finishRound(clients, plan);
  state.round = t;
  state.cumTime += timing.roundTime;
  state.cumUplinkBits += timing.uplinkBits;
  state.control = ctl.getState();
  return { round: t, ...timing, cumTime: state.cumTime, cumUplinkBits: state.cumUplinkBits, sparsError };
}

/**
 * The smallest mean round latency any controller can reach over `horizon` rounds (smallest ratio,
 * min-max shares) and the compute-only part: a budget below the first can never be met on average.
 */
export function latencyFloor(lm: RoundClock, rhoMin: number, horizon: number): { minMeanLatency: number; computeOnly: number } {
  let sum = 0, comp = 0;
  const cost = lm.messageCost(rhoMin);
  for (let t = 1; t <= horizon; t++) {
    const clients = lm.sampleClients(t);
    const demands = clients.map((k) => lm.demand(k, cost, lm.channel.gain(t, k)));
    sum += minMaxAllocation(demands, lm.channel.spec).time;
    comp += Math.max(...demands.map((d) => d.compute));
  }
  return { minMeanLatency: sum / horizon, computeOnly: comp / horizon };
}

export interface LongRunFloor {
  /** Estimated long-run mean round time at the smallest ratio with min-max shares (s). */
  minMeanLatency: number;
  /** Its standard error (s): rounds are independent draws of clients and fading. */
  standardError: number;
  /** Long-run mean of the slowest client's computation alone (s). */
  computeOnly: number;
  rounds: number;
}

/**
 * The long-run floor: the expectation over client sampling and fading of the round time at the
 * smallest ratio with min-max shares, estimated from rounds 1, 2, ... until its standard error is
 * below `relSe` of the mean (at least `minRounds`, at most `maxRounds`). The rounds are i.i.d.: each
 * draws its clients and fading from its own streams while device speeds and positions stay fixed.
 */
export function longRunFloor(lm: RoundClock, rhoMin: number, opts: { relSe?: number; minRounds?: number; maxRounds: number }): LongRunFloor {
  const relSe = opts.relSe ?? 0.005, minRounds = Math.min(opts.minRounds ?? 200, opts.maxRounds);
  const cost = lm.messageCost(rhoMin);
  let n = 0, mean = 0, m2 = 0, comp = 0;
  while (n < opts.maxRounds) {
    const t = n + 1;
    const demands = lm.sampleClients(t).map((k) => lm.demand(k, cost, lm.channel.gain(t, k)));
    const x = minMaxAllocation(demands, lm.channel.spec).time;
    n++;
    const d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
    comp += Math.max(...demands.map((q) => q.compute));
    if (n >= minRounds && n % 100 === 0 && Math.sqrt(m2 / (n - 1) / n) < relSe * mean) break;
  }
  return { minMeanLatency: mean, standardError: n > 1 ? Math.sqrt(m2 / (n - 1) / n) : 0, computeOnly: comp / n, rounds: n };
}
