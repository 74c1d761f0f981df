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
import type { ControllerDefinition, ControlSpec } from './types';

/** The default V is this many budgets squared (docs/method.md section 4, "V"). */
export const V_PER_BUDGET_SQUARED = 4;

/**
 * The V tsfa uses: control.V, or V_PER_BUDGET_SQUARED x budget^2 when it is null. V has units of
 * s^2 (V E is weighed against queue x round time) and the budget is the one time scale every tsfa
 * config gives, so the default makes the decisions independent of the unit of time: scaling every
 * time by s scales V by s^2 and leaves each round's choice unchanged.
 */
export function tsfaWeight(spec: ControlSpec): number {
  if (spec.V !== null) return spec.V;
  if (spec.latencyBudgetS === null) throw new Error('tsfa: control.V null needs control.latencyBudgetS (its default is 4 x budget^2)');
  return V_PER_BUDGET_SQUARED * spec.latencyBudgetS ** 2;
}

export class TsfaController extends BaseController {
  private readonly V = tsfaWeight(this.ctx.spec);

  protected candidates(): number[] {
    const r = this.ctx.rank;
    return Array.from({ length: r }, (_, j) => (j + 1) / r);
  }

  protected allocate(demands: Demand[]): Allocation {
    const budget = this.ctx.spec.latencyBudgetS;
    if (this.state.queue === 0 && budget !== null) {
      // A slack queue: the latency term vanishes; equal shares when they meet the budget.
      const eq = equalAllocation(demands, this.ctx.channel);
      if (eq.time <= budget) return eq;
    }
    return minMaxAllocation(demands, this.ctx.channel);
  }

  protected override score(ids: number[], rho: number, alloc: Allocation): number {
    return this.V * this.predictedError(ids, rho) + this.state.queue * alloc.time;
  }
}

export const tsfa = {
  name: 'tsfa',
  summary: 'Lyapunov control under the latency budget',
  caps: { needsBudget: true, choosesRho: true, usesProfiles: true, picksRank: true },
  schema: {
    V: within(1e-12, 1e12).nullable().default(null).meta({ description: 'tsfa: weight of the predicted sparsification error against queue x latency (larger = more accuracy, more latency); null = 4 x latencyBudgetS^2, a weight in the budget\'s own time scale (docs/method.md section 4)', unit: 's^2' }),
  },
  create: (ctx) => new TsfaController(ctx),
  note: () => ({
    title: 'tsfa',
    text: 'each round, for every rho = j/r, the min-max shares and their round time T(rho); the smallest V E(rho) + Q T(rho) wins (ties to the larger rho); with Q = 0 equal shares are used when they meet the budget. E(rho) is the predicted sparsification error from each client\'s latest importance profile (sent with its update, in clientBits). The queue Q <- max(Q + T_t - budget, 0) turns the long-term latency budget into a per-round price. V (control.V) defaults to 4 x budget^2.',
  }),
} as const satisfies ControllerDefinition<'tsfa'>;
