/**
 * The controller plug-in contract (docs/method.md section 4, docs/extending.md): each round a
 * controller picks the sparsification ratio rho_t and the bandwidth shares beta_t for the sampled
 * clients, then observes the realised round time.
 */
import type { Allocation, Demand } from '../channel/allocation';
import type { ChannelSpec } from '../channel/channel';
import type { PluginDefinition } from '../plugin';

export interface ControlSpec {
  /** A registered controller's name (control/index.ts). */
  method: string;
  /** Long-term average round latency budget (s); null = none. */
  latencyBudgetS: number | null;
  /** Drift-plus-penalty weight of the predicted error (s^2 per unit error); used by controllers that trade error for latency; null: the controller's default (tsfa: 4 x budget^2). */
  V: number | null;
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

/** What a controller is built from: the run's control and channel config and the message's shape. */
export interface ControllerContext {
  spec: ControlSpec;
  channel: ChannelSpec;
  /** rho of the fixed-ratio controllers (compression.rho, or k / entries). */
  fixedRho: number;
  /** LoRA rank r: a controller choosing rho searches j / r. */
  rank: number;
  /** Whether rho changes the message at all (false for dense uplinks). */
  sparsifies: boolean;
}

export interface Controller {
  /** The virtual queue Q (logged by every controller against the budget, when there is one). */
  readonly queue: number;
  /**
   * Choose rho and shares for this round's clients `ids`; `demandsFor(rho)` gives each client's
   * compute time, bits and gain at that ratio (known before training). Does not change the state.
   */
  plan(ids: number[], demandsFor: (rho: number) => Demand[]): RoundPlan;
  /** Advance the state with the round's realised latency. */
  observe(roundTime: number): void;
  /** A client's importance profile (per layer, its components' importance), sent with its update. */
  recordProfile(client: number, profile: Record<string, ArrayLike<number>>): void;
  /** The latest tail curve of a client, if one was recorded. */
  tail(client: number): readonly number[] | undefined;
  getState(): ControlState;
  setState(s: ControlState): void;
}

export interface ControllerCaps {
  /** Needs control.latencyBudgetS (validation refuses null). */
  needsBudget: boolean;
  /** Chooses rho itself: needs a compressor whose message rho changes, and compression.k null. */
  choosesRho: boolean;
  /** Clients send their importance profile with each update (its bits are charged). */
  usesProfiles: boolean;
  /** Can choose lora.rank offline (`lora.rank: "auto"`). */
  picksRank: boolean;
}

export interface ControllerDefinition<Name extends string = string> extends PluginDefinition<Name> {
  readonly caps: ControllerCaps;
  create(ctx: ControllerContext): Controller;
}
