/**
 * The clock's inputs at config time, memoised: the model spec and each client's shard size (read
 * once per version of the files and settings), and the feasibility of a latency budget against the
 * long-run floor. Config validation, `fedlora simulate` and the app's form (which validates on every
 * edit) share them.
 */
import { withRank, type ConfigIssue, type ExperimentConfig } from '../../engine/config';
import { controllerDef } from '../../engine/control';
import { RoundClock } from '../../engine/control/clock';
import { longRunFloor, type LongRunFloor } from '../../engine/control/simulate';
import { configPartition, loadTrainLabels } from '../data/datasets';
import { fileKey, modelOptions, modelSpecMemo } from '../data/models';
import { resolveDataset, resolveModel } from '../data/resources';
import { memo, type Memo } from '../data/memo';

const labelCache: Memo<{ labels: Int32Array; numClasses: number }> = new Map();
const shardCache: Memo<number[]> = new Map();
const floorCache: Memo<LongRunFloor> = new Map();
/** Calls of clockInputs that read nothing from disk (hits) and that read the model or labels (misses). */
export const clockCacheStats = { hits: 0, misses: 0 };

/**
 * The training labels of a config (read once per version of the dataset files and data settings)
 * and each client's shard size under its seeded partition (once per federation settings and
 * seed): config validation and the clock both need them, and the app's form validates on every
 * edit. A partition that cannot be made fails the same way again. `fresh`: the labels were read.
 */
export function partitionMemo(config: ExperimentConfig, baseDir: string): { numClasses: number; shardSizes: number[]; fresh: boolean } {
  const dataKey = JSON.stringify([fileKey(resolveDataset(config.data.dataset, baseDir), 2), config.data]);
  const { value: data, fresh } = memo(labelCache, dataKey, () => loadTrainLabels(config, baseDir), 8);
  const { value: shardSizes } = memo(shardCache, JSON.stringify([dataKey, config.federation, config.seed]),
    () => configPartition(config, data.labels, data.numClasses).map((p) => p.length), 8);
  return { numClasses: data.numClasses, shardSizes, fresh };
}

/**
 * Shard sizes and model spec of a config without building tfjs tensors. The model spec and the
 * partition are read once per version of their files (`modelSpecMemo`, `partitionMemo`).
 */
export function clockInputs(config: ExperimentConfig, baseDir: string) {
  const { spec, fresh } = modelSpecMemo(resolveModel(config.model.name, baseDir), modelOptions(config, baseDir));
  const data = partitionMemo(config, baseDir);
  if (fresh || data.fresh) clockCacheStats.misses++; else clockCacheStats.hits++;
  return { spec: { ...spec, numClasses: data.numClasses }, shardSizes: data.shardSizes };
}

/** Most client-rounds (rounds x clients per round) the budget check simulates: ~2 s on a loaded 2-core machine. */
export const MAX_CHECKED_CLIENT_ROUNDS = 50_000;

/**
 * A budget of a controller that must meet it (needsBudget), below the smallest long-run mean round
 * time any controller can reach (smallest ratio, min-max shares, the expectation over client sampling
 * and fading estimated to a standard error under 0.5%) is an error at config time.
 */
export function checkLatencyBudget(config: ExperimentConfig, baseDir: string): ConfigIssue | null {
  const budget = config.control.latencyBudgetS;
  if (!controllerDef(config.control.method).caps.needsBudget || budget === null) return null;
  const { spec, shardSizes } = clockInputs(config, baseDir);
  const rank = config.lora.rank === 'auto' ? Math.min(...config.offline.candidates) : config.lora.rank;
  const lm = new RoundClock({ config: withRank(config, rank), spec, shardSizes });
  const maxRounds = Math.max(2, Math.floor(MAX_CHECKED_CLIENT_ROUNDS / config.federation.clientsPerRound));
  // the floor does not depend on the budget: the app's form, which validates on every edit, reuses it
  const key = JSON.stringify([fileKey(resolveModel(config.model.name, baseDir), 2), { ...config, name: '', control: { method: config.control.method } }]);
  const { value: { minMeanLatency, computeOnly, standardError, rounds } } = memo(floorCache, key, () => longRunFloor(lm, 1 / rank, { relSe: 0.005, maxRounds }), 16);
  if (budget >= minMeanLatency) return null;
  return {
    path: 'control.latencyBudgetS',
    message: `infeasible: the smallest long-run mean round time reachable is ${minMeanLatency.toPrecision(4)} s (at rho = 1/${rank} with optimal shares: the expected round time over client sampling and fading, estimated from ${rounds} simulated rounds, standard error ${standardError.toPrecision(2)} s; computation alone ${computeOnly.toPrecision(4)} s); raise it to at least ${minMeanLatency.toPrecision(4)}, got ${budget}`,
  };
}

