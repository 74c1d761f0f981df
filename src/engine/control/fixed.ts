/** `fixed`: the configured ratio (compression.rho, or k / entries) every round, equal bandwidth shares. */
import { equalAllocation, type Allocation, type Demand } from '../channel/allocation';
import { BaseController } from './controller';
import type { ControllerDefinition } from './types';

export class FixedController extends BaseController {
  protected candidates(): number[] { return [this.ctx.fixedRho]; }
  protected allocate(demands: Demand[]): Allocation { return equalAllocation(demands, this.ctx.channel); }
}

export const fixed = {
  name: 'fixed',
  summary: 'compression.rho, equal shares',
  caps: { needsBudget: false, choosesRho: false, usesProfiles: false, picksRank: false },
  create: (ctx) => new FixedController(ctx),
  note: () => ({ title: 'fixed', text: 'compression.rho every round, equal bandwidth shares.' }),
} as const satisfies ControllerDefinition<'fixed'>;
