/** `fixed-opt`: the configured ratio every round, min-max bandwidth shares. */
import { minMaxAllocation, type Allocation, type Demand } from '../channel/allocation';
import { BaseController } from './controller';
import type { ControllerDefinition } from './types';

export class FixedOptController extends BaseController {
  protected candidates(): number[] { return [this.ctx.fixedRho]; }
  protected allocate(demands: Demand[]): Allocation { return minMaxAllocation(demands, this.ctx.channel); }
}

export const fixedOpt = {
  name: 'fixed-opt',
  summary: 'compression.rho, min-max shares',
  caps: { needsBudget: false, choosesRho: false, usesProfiles: false, picksRank: false },
  create: (ctx) => new FixedOptController(ctx),
  note: () => ({ title: 'fixed-opt', text: 'compression.rho, min-max bandwidth shares (the shares that minimise the slowest client\'s finish time).' }),
} as const satisfies ControllerDefinition<'fixed-opt'>;
