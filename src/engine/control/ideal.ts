/** `ideal`: nothing dropped (rho = 1), equal shares, the budget ignored (its queue is still logged). */
import { equalAllocation, type Allocation, type Demand } from '../channel/allocation';
import { BaseController } from './controller';
import type { ControllerDefinition } from './types';

export class IdealController extends BaseController {
  protected candidates(): number[] { return [1]; }
  protected allocate(demands: Demand[]): Allocation { return equalAllocation(demands, this.ctx.channel); }
}

export const ideal = {
  name: 'ideal',
  summary: 'rho = 1, equal shares',
  caps: { needsBudget: false, choosesRho: false, usesProfiles: false, picksRank: false },
  create: (ctx) => new IdealController(ctx),
  note: () => ({ title: 'ideal', text: 'rho = 1 and equal shares, the budget ignored (its queue is still logged).' }),
} as const satisfies ControllerDefinition<'ideal'>;
