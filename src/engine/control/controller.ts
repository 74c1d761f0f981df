/**
 * What every controller shares: the virtual queue against the budget, the clients' latest importance
 * tails and the predicted sparsification error E_t(rho) (the share of sum_i s_i^2 outside the top
 * ceil(rho r) components, from each participating client's latest profile), and the search over
 * candidate ratios. A controller (fixed.ts, tsfa.ts, ...) says which ratios it considers, how it
 * shares the band and how it scores a candidate.
 */
import type { Allocation, Demand } from '../channel/allocation';
import { keptComponents } from '../compress/types';
import type { ControlState, Controller, ControllerContext, RoundPlan } from './types';

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

export abstract class BaseController implements Controller {
  protected state: ControlState = { queue: 0, tails: {} };

  constructor(protected readonly ctx: ControllerContext) {}

  get queue(): number { return this.state.queue; }

  /** Candidate ratios, ascending (only ever [1] when rho does not change the message). */
  protected abstract candidates(): number[];

  /** Bandwidth shares for the clients' demands at ratio rho. */
  protected abstract allocate(demands: Demand[], rho: number): Allocation;

  /** Score of a candidate (smallest wins, ties to the larger rho); one candidate needs none. */
  protected score(_ids: number[], _rho: number, _alloc: Allocation): number { return 0; }

  levels(): number[] { return this.ctx.sparsifies ? this.candidates() : [1]; }

  recordProfile(client: number, profile: Record<string, ArrayLike<number>>): void {
    this.state.tails[client] = tailCurve(profile, this.ctx.rank);
  }

  tail(client: number): readonly number[] | undefined { return this.state.tails[client]; }

  /** E_t(rho) over the given clients; clients never seen use the mean known curve, else a flat prior. */
  predictedError(clients: number[], rho: number): number {
    const { rank } = this.ctx;
    const m = keptComponents(rho, rank);
    const known = Object.values(this.state.tails);
    const fallback = known.length ? known.reduce((s, t) => s + t[m], 0) / known.length : 1 - m / rank;
    if (!clients.length) return fallback;
    return clients.reduce((s, k) => s + (this.state.tails[k]?.[m] ?? fallback), 0) / clients.length;
  }

  plan(ids: number[], demandsFor: (rho: number) => Demand[]): RoundPlan {
    let best: { rho: number; demands: Demand[]; alloc: Allocation; score: number } | null = null;
    for (const rho of this.levels()) {
      const demands = demandsFor(rho);
      const alloc = this.allocate(demands, rho);
      const score = this.score(ids, rho, alloc);
      if (!best || score <= best.score) best = { rho, demands, alloc, score };
    }
    const { rho, demands, alloc } = best!;
    return {
      ...alloc, rho, queue: this.state.queue,
      bits: demands.map((d) => d.bits),
      gains: demands.map((d) => d.gain),
      computeTime: demands.map((d) => d.compute),
      predictedError: this.ctx.sparsifies ? this.predictedError(ids, rho) : null,
    };
  }

  /** Virtual queue update with the round's realised latency: Q <- max(Q + T - budget, 0). */
  observe(roundTime: number): void {
    const budget = this.ctx.spec.latencyBudgetS;
    if (budget !== null) this.state.queue = Math.max(this.state.queue + roundTime - budget, 0);
  }

  getState(): ControlState {
    return { queue: this.state.queue, tails: Object.fromEntries(Object.entries(this.state.tails).map(([k, v]) => [k, v.slice()])) };
  }

  setState(s: ControlState): void {
    this.state = { queue: s.queue, tails: Object.fromEntries(Object.entries(s.tails).map(([k, v]) => [Number(k), v.slice()])) };
  }
}
