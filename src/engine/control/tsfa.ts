/**
 * `tsfa`, the online stage of TSFA (docs/method.md section 4): Lyapunov drift-plus-penalty. Each
 * round, over rho in {1/r, ..., r/r}, minimise V E_t(rho) + Q_t T_t(rho, beta*(rho)), beta* the
 * min-max shares (ties to the larger rho); with a slack queue (Q_t = 0) equal shares are used when
 * they meet the budget. Then Q_{t+1} = max(Q_t + T_t - budget, 0) turns the long-term budget into
 * a per-round price.
 */
import { equalAllocation, minMaxAllocation, type Allocation, type Demand } from '../channel/allocation';
import { within } from '../schema';
import { BaseController } from './controller';
import type { ControllerDefinition } from './types';

export class TsfaController extends BaseController {
  protected candidates(): number[] {
    const r = this.ctx.rank;
    return Array.from({ length: r }, (_, j) => (j + 1) / r);
  }

  protected allocate(demands: Demand[]): Allocation {
    const budget = this.ctx.spec.latencyBudget;
    if (this.state.queue === 0 && budget !== null) {
      // A slack queue: the latency term vanishes; equal shares when they meet the budget.
      const eq = equalAllocation(demands, this.ctx.channel);
      if (eq.time <= budget) return eq;
    }
    return minMaxAllocation(demands, this.ctx.channel);
  }

  protected override score(ids: number[], rho: number, alloc: Allocation): number {
    return this.ctx.spec.V * this.predictedError(ids, rho) + this.state.queue * alloc.time;
  }
}

export const tsfa = {
  name: 'tsfa',
  summary: 'Lyapunov control under the latency budget',
  caps: { needsBudget: true, choosesRho: true, usesProfiles: true, picksRank: true },
  schema: {
    V: within(1e-12, 1e12).default(1).meta({ description: 'tsfa: weight of the predicted sparsification error against queue x latency (larger = more accuracy, more latency)', unit: 's^2' }),
  },
  create: (ctx) => new TsfaController(ctx),
  note: () => ({
    title: 'tsfa',
    text: 'each round, for every rho = j/r, the min-max shares and their round time T(rho); the smallest V E(rho) + Q T(rho) wins (ties to the larger rho); with Q = 0 equal shares are used when they meet the budget. E(rho) is the predicted sparsification error from each client\'s latest importance profile (sent with its update, in clientBits). The queue Q <- max(Q + T_t - budget, 0) turns the long-term latency budget into a per-round price.',
  }),
} as const satisfies ControllerDefinition<'tsfa'>;
