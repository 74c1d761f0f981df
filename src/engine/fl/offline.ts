/**
 * TSFA offline stage (docs/method.md section 4): choose the LoRA rank before round 1.
 *
 * Pilot: the server fine-tunes the model at the largest candidate rank for a few steps on proxy
 * data (here: the first `offline.pilotSamples` training samples, see docs/method.md) and measures
 * the energy spectrum of the learned update dW = A'B' per layer: e(m) = share of sum sigma_i^2 in
 * the top m singular components (averaged over layers).
 *
 * For each candidate r: the expected round latency at ratio rho from channel statistics (mean
 * gain, i.e. the fading's expectation, at equal shares), averaged over the clients the first
 * `offline.horizon` rounds sample; rho_bar(r) = the largest j/r whose expected latency meets the
 * budget; score Phi(r) = (1 - e(r))                       rank term: what rank r cannot express
 *                      + (e(r) - e(m)) / rho_bar(r)      sparsification term, m = ceil(rho_bar r):
 *                        energy left out per round, delivered later by error feedback after about
 *                        1/rho_bar rounds, so weighted by that delay.
 * The minimiser is chosen (ties: the smaller rank); a rank whose smallest ratio misses the
 * budget scores +Infinity.
 */
import { withRank, type ExperimentConfig } from '../config';
import { keptComponents, loraLayers } from '../compress/types';
import { fromF32, matmul, truncatedSvd } from '../compress/linalg';
import { equalAllocation } from '../channel/allocation';
import { localTrain } from './client';
import { taskModelInputs } from './federated';
import { emptyOptimizerState } from './optimizer';
import { createModel } from '../model';
import type { ModelSpec, WeightMap } from '../model/types';
import { Rng } from '../rng';
import type { PatchedDataset } from '../data/types';
import { RoundClock } from '../control/clock';

export interface OfflineCandidate {
  rank: number;
  /** Expected round latency with every component sent (rho = 1), seconds. */
  expectedLatencyFull: number;
  /** Largest ratio j/r whose expected latency meets the budget; 0 when none does. */
  rhoBar: number;
  kept: number;
  rankTerm: number;
  sparsTerm: number;
  score: number;
}

export interface OfflineResult {
  chosenRank: number;
  budget: number;
  /** False when no candidate meets the budget even at its smallest ratio (the smallest rank is used). */
  feasible: boolean;
  candidates: OfflineCandidate[];
  pilot: { rank: number; samples: number; steps: number; meanLoss: number; energy: number[] };
}

/** e(m), m = 0..R: mean over layers of the share of squared singular values in the top m. */
export function energyCurve(singularValues: number[][], maxRank: number): number[] {
  const e = new Array<number>(maxRank + 1).fill(0);
  const used = singularValues.filter((sv) => sv.some((v) => v > 0));
  if (!used.length) return e.map((_, m) => m / maxRank);
  for (const sv of used) {
    const sq = sv.map((v) => v * v).sort((a, b) => b - a);
    const total = sq.reduce((a, b) => a + b, 0);
    let acc = 0;
    for (let m = 0; m <= maxRank; m++) {
      e[m] += acc / total / used.length;
      if (m < sq.length) acc += sq[m];
    }
  }
  return e;
}

/** Score every candidate rank; `expectedLatency(r, rho)` in seconds, `energy` from the pilot. */
export function scoreRanks(candidates: number[], budget: number, energy: number[], expectedLatency: (rank: number, rho: number) => number): { candidates: OfflineCandidate[]; chosenRank: number; feasible: boolean } {
  const rows = [...new Set(candidates)].sort((a, b) => a - b).map((rank): OfflineCandidate => {
    let rhoBar = 0;
    for (let j = rank; j >= 1; j--) {
      if (expectedLatency(rank, j / rank) <= budget) { rhoBar = j / rank; break; }
    }
    const e = (m: number) => energy[Math.min(m, energy.length - 1)];
    const rankTerm = 1 - e(rank);
    const kept = rhoBar > 0 ? keptComponents(rhoBar, rank) : 0;
    const sparsTerm = rhoBar > 0 ? (e(rank) - e(kept)) / rhoBar : Infinity;
    return { rank, expectedLatencyFull: expectedLatency(rank, 1), rhoBar, kept, rankTerm, sparsTerm, score: rankTerm + sparsTerm };
  });
  const finite = rows.filter((r) => Number.isFinite(r.score));
  const best = finite.reduce<OfflineCandidate | null>((b, r) => (!b || r.score < b.score - 1e-12 ? r : b), null);
  return { candidates: rows, chosenRank: best ? best.rank : rows[0].rank, feasible: best !== null };
}

export interface OfflineInput {
  config: ExperimentConfig;
  /** Model spec of the pretrained model. */
  spec: ModelSpec;
  /** Pretrained base weights (the task head is added here as the trainer adds it). */
  base: WeightMap;
  train: PatchedDataset;
  shardSizes: number[];
}

/** Singular values of each layer's learned update A'B' after a short central fine-tune at rank R. */
export async function pilotSpectrum(input: OfflineInput, rank: number): Promise<{ singularValues: number[][]; meanLoss: number }> {
  const cfg = input.config, o = cfg.offline;
  const rng = Rng.fromSeed(cfg.seed).child('offline');
  const task = taskModelInputs(input.spec, input.base, input.train.numClasses, rng);
  const model = createModel(task.spec, task.base, { ...cfg.lora, rank }, 'lora', rng.child('init'));
  try {
    const global = model.initialTrainable();
    const proxy = Int32Array.from({ length: Math.min(o.pilotSamples, input.train.n) }, (_, i) => i);
    const res = await localTrain(
      model, global, input.train, proxy,
      { optimizer: { name: cfg.train.optimizer, lr: cfg.train.lr, momentum: cfg.train.momentum }, batchSize: cfg.train.batchSize, localEpochs: 1, localSteps: o.pilotSteps },
      emptyOptimizerState(), rng.child('batch'),
    );
    const singularValues = loraLayers(global).map((l) => {
      const a = Float32Array.from(global[`${l.name}.lora_a`].data, (v, i) => v + res.update[`${l.name}.lora_a`].data[i]);
      const b = Float32Array.from(global[`${l.name}.lora_b`].data, (v, i) => v + res.update[`${l.name}.lora_b`].data[i]);
      const P = matmul(fromF32(l.din, rank, a), fromF32(rank, l.dout, b)); // B starts at 0: the update is A'B'
      return Array.from(truncatedSvd(P, rank, rng.child('svd').child(l.name), rank).S);
    });
    return { singularValues, meanLoss: res.meanLoss };
  } finally {
    model.dispose();
  }
}

/** Expected latency of a rank/ratio from channel statistics (mean gain, equal shares). */
export function expectedLatency(config: ExperimentConfig, spec: ModelSpec, shardSizes: number[]): (rank: number, rho: number) => number {
  const models = new Map<number, RoundClock>();
  const f = config.federation;
  const rounds = Array.from({ length: Math.min(config.offline.horizon, f.rounds) }, (_, i) => i + 1);
  return (rank, rho) => {
    let lm = models.get(rank);
    if (!lm) { lm = new RoundClock({ config: withRank(config, rank), spec, shardSizes }); models.set(rank, lm); }
    const cost = lm.messageCost(rho);
    let sum = 0;
    for (const t of rounds) {
      const demands = lm.sampleClients(t).map((k) => lm!.demand(k, cost, lm!.channel.meanGain(k)));
      sum += equalAllocation(demands, config.channel).time;
    }
    return sum / rounds.length;
  };
}

export async function runOfflineStage(input: OfflineInput): Promise<OfflineResult> {
  const cfg = input.config;
  const budget = cfg.control.latencyBudgetS;
  if (budget === null) throw new Error('offline stage: control.latencyBudgetS is required');
  const candidates = cfg.offline.candidates;
  const R = Math.max(...candidates);
  const { singularValues, meanLoss } = await pilotSpectrum(input, R);
  const energy = energyCurve(singularValues, R);
  const spec = { ...input.spec, numClasses: input.train.numClasses };
  const scored = scoreRanks(candidates, budget, energy, expectedLatency(cfg, spec, input.shardSizes));
  return { ...scored, budget, pilot: { rank: R, samples: Math.min(cfg.offline.pilotSamples, input.train.n), steps: cfg.offline.pilotSteps, meanLoss, energy } };
}
