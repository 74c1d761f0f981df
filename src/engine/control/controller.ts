/**
 * Online control of each round (docs/method.md section 4): the sparsification ratio rho_t and the
 * bandwidth shares beta_t.
 *  - fixed:     the configured rho, equal shares;
 *  - fixed-opt: the configured rho, min-max shares;
 *  - ideal:     rho = 1 (nothing dropped), equal shares, the budget ignored;
 *  - tsfa:      Lyapunov drift-plus-penalty: over rho in {1/r, ..., r/r} minimise
 *               V * E_t(rho) + Q_t * T_t(rho, beta*(rho)), beta* the min-max shares, then
 *               Q_{t+1} = max(Q_t + T_t - budget, 0).
 * E_t(rho) is the predicted sparsification error: the share of sum_i s_i^2 outside the top
 * ceil(rho r) components, from each participating client's latest importance profile.
 */
import { equalAllocation, minMaxAllocation, type Allocation, type Demand } from '../channel/allocation';
import type { ChannelSpec } from '../channel/channel';
import { keptComponents } from '../compress/types';

export const CONTROL_METHODS = ['fixed', 'fixed-opt', 'ideal', 'tsfa'] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];

export interface ControlSpec {
  method: ControlMethod;
  /** Long-term average round latency budget (s); null = none (not allowed for tsfa). */
  latencyBudget: number | null;
  /** Drift-plus-penalty weight of the predicted error (s^2 per unit error). */
  V: number;
}

export interface RoundPlan extends Allocation {
  rho: number;
  bits: number[];
  /** Channel power gain of each client this round (what the allocation used). */
  gains: number[];
  computeTime: number[];
  predictedError: number | null;
  /** Queue before this round's update (what the decision used). */
  queue: number;
}

/** Serializable controller state (checkpointed): the virtual queue and the latest importance tails. */
export interface ControlState {
  queue: number;
  /** Per client: tail[m] = share of its update energy outside its top m components (summed over layers). */
  tails: Record<number, number[]>;
}

/**
 * Normalised tail curve of an importance profile: tail[m] for m = 0..r, pooled over layers
 * (each layer keeps its own top m, as SOFT does).
 */
export function tailCurve(profile: Record<string, ArrayLike<number>>, rank: number): number[] {
  const tail = new Array<number>(rank + 1).fill(0);
  let total = 0;
  for (const s of Object.values(profile)) {
    const sq = Array.from(s, (v) => v * v).sort((a, b) => b - a);
    // suffix sums from the smallest term: the tail after all components is exactly 0
    const suffix = new Array<number>(sq.length + 1).fill(0);
    for (let i = sq.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + sq[i];
    total += suffix[0];
    for (let m = 0; m <= rank; m++) tail[m] += suffix[Math.min(m, sq.length)];
  }
  return total > 0 ? tail.map((v) => v / total) : tail.map((_, m) => 1 - m / rank);
}

export class Controller {
  state: ControlState = { queue: 0, tails: {} };

  constructor(
    readonly spec: ControlSpec,
    private readonly channel: ChannelSpec,
    /** rho of the fixed methods (compression.rho or k / entries). */
    private readonly fixedRho: number,
    /** LoRA rank r: tsfa searches rho over j / r. */
    private readonly rank: number,
    /** Whether rho changes the message at all (false for dense uplinks). */
    private readonly sparsifies: boolean,
  ) {}

  /** Candidate ratios of this controller, ascending. */
  levels(): number[] {
    if (!this.sparsifies) return [1];
    switch (this.spec.method) {
      case 'ideal': return [1];
      case 'tsfa': return Array.from({ length: this.rank }, (_, j) => (j + 1) / this.rank);
      default: return [this.fixedRho];
    }
  }

  recordProfile(client: number, profile: Record<string, ArrayLike<number>>): void {
    this.state.tails[client] = tailCurve(profile, this.rank);
  }

  /** E_t(rho) over the given clients; clients never seen use the mean known curve, else a flat prior. */
  predictedError(clients: number[], rho: number): number {
    const m = keptComponents(rho, this.rank);
    const known = Object.values(this.state.tails);
    const fallback = known.length ? known.reduce((s, t) => s + t[m], 0) / known.length : 1 - m / this.rank;
    if (!clients.length) return fallback;
    return clients.reduce((s, k) => s + (this.state.tails[k]?.[m] ?? fallback), 0) / clients.length;
  }

  /**
   * Choose rho and shares for this round's clients `ids`; `demandsFor(rho)` gives each client's
   * compute time, bits and gain at that ratio (known before training).
   */
  plan(ids: number[], demandsFor: (rho: number) => Demand[]): RoundPlan {
    const Q = this.state.queue;
    const budget = this.spec.latencyBudget;
    const optimal = this.spec.method === 'tsfa' || this.spec.method === 'fixed-opt';
    let best: { rho: number; demands: Demand[]; alloc: Allocation; score: number } | null = null;
    for (const rho of this.levels()) {
      const demands = demandsFor(rho);
      let alloc: Allocation | null = null;
      if (this.spec.method === 'tsfa' && Q === 0 && budget !== null) {
        // A slack queue: the latency term vanishes; equal shares when they meet the budget.
        const eq = equalAllocation(demands, this.channel);
        if (eq.time <= budget) alloc = eq;
      }
      alloc ??= optimal ? minMaxAllocation(demands, this.channel) : equalAllocation(demands, this.channel);
      const score = this.spec.method === 'tsfa' ? this.spec.V * this.predictedError(ids, rho) + Q * alloc.time : 0;
      if (!best || score <= best.score) best = { rho, demands, alloc, score };
    }
    const { rho, demands, alloc } = best!;
    return {
      ...alloc, rho, queue: Q,
      bits: demands.map((d) => d.bits),
      gains: demands.map((d) => d.gain),
      computeTime: demands.map((d) => d.compute),
      predictedError: this.sparsifies ? this.predictedError(ids, rho) : null,
    };
  }

  /** Virtual queue update with the round's realised latency. */
  observe(roundTime: number): void {
    if (this.spec.latencyBudget !== null) this.state.queue = Math.max(this.state.queue + roundTime - this.spec.latencyBudget, 0);
  }

  getState(): ControlState {
    return { queue: this.state.queue, tails: Object.fromEntries(Object.entries(this.state.tails).map(([k, v]) => [k, v.slice()])) };
  }

  setState(s: ControlState): void {
    this.state = { queue: s.queue, tails: Object.fromEntries(Object.entries(s.tails).map(([k, v]) => [Number(k), v.slice()])) };
  }
}
