/**
 * The federated round loop (docs/method.md section 1), written once: sample clients, train locally,
 * build each client's uplink message, aggregate, apply, evaluate, report. Every random draw comes
 * from a stream named by (seed, purpose, round, client), so a run resumed at round t draws exactly
 * what an uninterrupted run draws.
 */
import type { ResolvedConfig } from '../config';
import type { LoraModel, ModelSpec, WeightMap } from '../model/types';
import { createModel } from '../model';
import type { ControlState, RoundPlan } from '../control/types';
import { RoundClock } from '../control/clock';
import { componentImportance } from '../compress/soft';
import { Rng } from '../rng';
import { weightedMean, type ReceivedUpdate } from './aggregate';
import { evaluate, localTrain, type EvalResult, type LocalResult } from './client';
import type { PatchedDataset } from '../data/types';
import { emptyOptimizerState, type OptimizerState } from './optimizer';
import { addScaledInPlace, cloneWeights, countParams, hasNonFinite } from '../model/weights';
import { compressorDef, ErrorFeedback, loraEntries, loraLayers, makeCompressor, relativeError, type CompressOutput, type Compressor, type LoraLayer } from '../compress';
import { refactorize } from '../compress/svd';
import { fromF32, matmul } from '../compress/linalg';
import { orthogonalityPenalty, orthResidual } from './orthogonality';
import { relativeCovarianceNorm } from './covariance';
import { ConfigError } from '../config';
import type { RoundMetrics } from '../wire';

export type { RoundMetrics };

/** A client's update or loss was NaN/Inf and train.onDivergence is "fail". */
export class DivergenceError extends Error {}

/** Everything needed to continue a run after round `round` (plain data). */
export interface TrainerState {
  round: number;
  global: WeightMap;
  clientOpt: Record<number, OptimizerState>;
  /** Error-feedback residual per client (factor-space compressors). */
  clientResidual: Record<number, WeightMap>;
  cumUplinkBits: number;
  cumTime: number;
  /** Virtual queue and importance tails of the online controller. */
  control: ControlState;
}

export interface TrainerInput {
  config: ResolvedConfig;
  spec: ModelSpec;
  base: WeightMap;
  train: PatchedDataset;
  test: PatchedDataset;
  partition: Int32Array[];
}

/** One client's local training in a round: what a worker needs besides the model and the data. */
export interface LocalJob { round: number; client: number; global: WeightMap; optState: OptimizerState }

/** Trains jobs elsewhere (worker threads); results in job order, identical to `trainLocalJob`'s. */
export interface LocalTrainerPool { train(jobs: LocalJob[]): Promise<LocalResult[]> }

/** Model and data a worker builds its own copy from. */
export interface LocalWorkerInit { spec: ModelSpec; base: WeightMap; config: ResolvedConfig; train: PatchedDataset; partition: Int32Array[] }

interface RoundStart { t: number; t0: number; planMs: number; clients: number[]; plan: RoundPlan; jobs: LocalJob[] }

/**
 * The local-training recipe of a run, shared by the trainer's own thread and worker pools: load the
 * global weights, train on the client's shard with its optimizer state, batches from the stream
 * (seed, batch, round, client), plus the orthogonality penalty when soft.lambda > 0.
 */
export function trainLocalJob(model: LoraModel, cfg: ResolvedConfig, train: PatchedDataset, partition: Int32Array[], rng: Rng, job: LocalJob): Promise<LocalResult> {
  const layerNames = loraLayers(job.global).map((l) => l.name);
  const extraLoss = cfg.soft.lambda > 0 && layerNames.length ? () => orthogonalityPenalty(model.vars, layerNames, cfg.soft.lambda) : undefined;
  model.setTrainable(job.global);
  return localTrain(
    model, job.global, train, partition[job.client],
    { optimizer: { name: cfg.train.optimizer, lr: cfg.train.lr, momentum: cfg.train.momentum }, batchSize: cfg.train.batchSize, localEpochs: cfg.train.localEpochs, localSteps: cfg.train.localSteps },
    job.optState, rng.child('batch').child(job.round).child(job.client), extraLoss,
  );
}

/** The pretrained model with a fresh classification head for the task, drawn from (seed, init, head). */
export function taskModelInputs(spec: ModelSpec, pretrained: WeightMap, numClasses: number, rng: Rng): { spec: ModelSpec; base: WeightMap } {
  const s = { ...spec, numClasses };
  const base = { ...pretrained };
  const hr = rng.child('init').child('head');
  base['head.w'] = { shape: [s.dim, numClasses], data: hr.normalArray(s.dim * numClasses, 0.02) };
  base['head.b'] = { shape: [numClasses], data: new Float32Array(numClasses) };
  return { spec: s, base };
}

export class FederatedTrainer {
  readonly model: LoraModel;
  readonly rng: Rng;
  state: TrainerState;
  private readonly cfg: ResolvedConfig;
  readonly layers: LoraLayer[];
  private readonly compressor: Compressor;
  /** Whether the client keeps what it did not send (compression.errorFeedback, for compressors it applies to). */
  private readonly errorFeedback: boolean;
  readonly latency: RoundClock;
  private readonly taskSpec: ModelSpec;
  private readonly taskBase: WeightMap;
  /** Analysis hook: sees every client's raw update (before compression) and the global factors. */
  onClientUpdate?: (client: number, global: WeightMap, update: WeightMap) => void;

  constructor(private readonly input: TrainerInput) {
    this.cfg = input.config;
    this.rng = Rng.fromSeed(this.cfg.seed);
    const { spec, base } = taskModelInputs(input.spec, input.base, input.train.numClasses, this.rng);
    this.taskSpec = spec;
    this.taskBase = base;
    this.model = createModel(spec, base, this.cfg.lora, this.cfg.train.mode, this.rng.child('init'));
    this.state = { round: 0, global: this.model.initialTrainable(), clientOpt: {}, clientResidual: {}, cumUplinkBits: 0, cumTime: 0, control: { queue: 0, tails: {} } };
    this.layers = loraLayers(this.state.global);
    this.compressor = makeCompressor(this.cfg.compression);
    this.latency = new RoundClock({ config: this.cfg, spec, shardSizes: input.partition.map((p) => p.length), compressor: this.compressor });
    const c = this.cfg.compression, caps = compressorDef(c.method).caps;
    this.errorFeedback = c.errorFeedback && caps.errorFeedback;
    if (caps.needsLora && this.layers.length === 0) {
      throw new ConfigError([{ path: 'compression.method', message: `"${c.method}" compresses LoRA factors, but train.mode "${this.cfg.train.mode}" has none; use train.mode "lora" or compression.method "none"` }]);
    }
    if (c.k !== null && caps.usesK) {
      const total = loraEntries(this.layers);
      if (c.k > total) throw new ConfigError([{ path: 'compression.k', message: `must be <= ${total} (the LoRA entries of this model), got ${c.k}` }]);
    }
  }

  /** Compress a client's update (plus its error-feedback residual); returns what was compressed too. */
  private compressUpdate(k: number, t: number, update: WeightMap, rho: number): { out: CompressOutput; input: WeightMap } {
    const input = { global: this.state.global, update, layers: this.layers, rho, rng: this.rng.child('compress').child(t).child(k) };
    if (this.errorFeedback) {
      const { out, residual, corrected } = new ErrorFeedback(this.compressor).compressWithResidual(input, this.state.clientResidual[k]);
      this.state.clientResidual[k] = residual;
      return { out, input: corrected };
    }
    return { out: this.compressor.compress(input), input: update };
  }

  /** Server step for the SVD baseline: add the mean dW_hat to A B, re-factorise to rank r. */
  private applyProductUpdates(received: { weight: number; out: CompressOutput }[], t: number): void {
    const W = received.reduce((s, r) => s + r.weight, 0);
    for (const layer of this.layers) {
      const { name, din, dout, rank } = layer;
      const P = matmul(fromF32(din, rank, this.state.global[`${name}.lora_a`].data), fromF32(rank, dout, this.state.global[`${name}.lora_b`].data));
      for (const r of received) {
        const d = r.out.productUpdate![name].data;
        for (let i = 0; i < d.length; i++) P.data[i] += (r.weight / W) * d[i];
      }
      const { a, b } = refactorize(P, rank, this.rng.child('server-svd').child(t).child(name));
      this.state.global[`${name}.lora_a`].data.set(a);
      this.state.global[`${name}.lora_b`].data.set(b);
    }
    const dense = received.map((r) => ({ weight: r.weight, update: r.out.update }));
    addScaledInPlace(this.state.global, weightedMean(dense));
  }

  get numTrainableParams(): number { return countParams(this.state.global); }

  /** Clients of round t (1-based), sorted, drawn from the stream (seed, sample, t). */
  sampleClients(t: number): number[] { return this.latency.sampleClients(t); }

  /** Round `state.round + 1`: its clients, the controller's plan and each client's training job. */
  private beginRound(): RoundStart {
    const t0 = performance.now();
    const t = this.state.round + 1;
    const clients = this.sampleClients(t);
    const plan = this.latency.plan(t, clients);
    const jobs = clients.map((k): LocalJob => ({ round: t, client: k, global: this.state.global, optState: this.state.clientOpt[k] ?? emptyOptimizerState() }));
    return { t, t0, planMs: performance.now() - t0, clients, plan, jobs };
  }

  /** What a worker needs to train this run's clients exactly as this thread would. */
  workerInit(): LocalWorkerInit {
    return { spec: this.taskSpec, base: this.taskBase, config: this.cfg, train: this.input.train, partition: this.input.partition };
  }

  /** Run round `state.round + 1`, training its clients one after the other on this thread. */
  async runRound(): Promise<RoundMetrics> {
    const start = this.beginRound();
    const c0 = performance.now();
    const results: LocalResult[] = [];
    for (const j of start.jobs) results.push(await trainLocalJob(this.model, this.cfg, this.input.train, this.input.partition, this.rng, j));
    return this.completeRound(start, results, performance.now() - c0);
  }

  /** The same round with the clients trained by `pool` (e.g. worker threads): identical metrics. */
  async runRoundWith(pool?: LocalTrainerPool): Promise<RoundMetrics> {
    if (!pool) return this.runRound();
    const start = this.beginRound();
    const c0 = performance.now();
    const results = await pool.train(start.jobs);
    return this.completeRound(start, results, performance.now() - c0);
  }

  private async completeRound({ t, t0, planMs, clients, plan }: RoundStart, results: LocalResult[], trainMs: number): Promise<RoundMetrics> {
    const cfg = this.cfg;
    const controller = this.latency.controller;
    const profileBits = this.latency.profileBits;
    const rho = plan.rho;
    const received: { weight: number; out: CompressOutput }[] = [];
    const clientSamples: number[] = [], clientFlops: number[] = [], relErrors: number[] = [];
    const localFactors: { weight: number; factors: WeightMap }[] = [];
    let lossSum = 0, weightSum = 0, compressMs = 0, measureMs = 0;
    const droppedClients: number[] = [];
    for (const [i, k] of clients.entries()) {
      const shard = this.input.partition[k];
      const res = results[i];
      clientSamples.push(res.samplesProcessed);
      if (!Number.isFinite(res.meanLoss) && res.steps > 0 || hasNonFinite(res.update)) {
        if (cfg.train.onDivergence === 'fail') throw new DivergenceError(`round ${t}: client ${k} diverged (NaN/Inf in its update or loss); lower train.lr or set train.onDivergence to "drop-client"`);
        droppedClients.push(k); // its optimizer state and residual stay as before the round
        clientFlops.push(0);
        continue;
      }
      this.state.clientOpt[k] = res.optState;
      this.onClientUpdate?.(k, this.state.global, res.update);
      const c0 = performance.now();
      const { out, input: compressed } = this.compressUpdate(k, t, res.update, rho);
      compressMs += performance.now() - c0;
      if (out.bits + profileBits !== plan.bits[i]) {
        throw new Error(`internal: client ${k} sent ${out.bits + profileBits} bits, the plan expected ${plan.bits[i]}`);
      }
      if (this.latency.usesProfiles) {
        controller.recordProfile(k, out.importance ?? Object.fromEntries(this.layers.map((l) => [l.name, componentImportance(l, this.state.global, compressed, 'exact')])));
      }
      const m0 = performance.now();
      if (this.layers.length) relErrors.push(relativeError(this.layers, this.state.global, compressed, out));
      measureMs += performance.now() - m0;
      if (this.layers.length && !out.productUpdate) {
        const f = cloneWeights(this.state.global);
        addScaledInPlace(f, out.update);
        localFactors.push({ weight: shard.length, factors: f });
      }
      received.push({ weight: shard.length, out });
      clientFlops.push(out.flops);
      if (res.steps > 0) { lossSum += res.meanLoss * shard.length; weightSum += shard.length; }
    }
    let a0 = performance.now();
    let covNorm: number | null = null;
    if (received.length === 0) { /* every client diverged: the global model stays */ }
    else if (received.some((r) => r.out.productUpdate)) this.applyProductUpdates(received, t);
    else {
      const mean = weightedMean(received.map((r): ReceivedUpdate => ({ weight: r.weight, update: r.out.update, sent: cfg.compression.aggregate === 'senders' ? r.out.sent : undefined })));
      if (localFactors.length) {
        // covNorm against the factors the server applies (under `senders` they are not the plain means)
        const m1 = performance.now();
        const applied = cloneWeights(this.state.global);
        addScaledInPlace(applied, mean);
        covNorm = relativeCovarianceNorm(this.layers, this.state.global, localFactors, applied);
        const dm = performance.now() - m1;
        measureMs += dm; a0 += dm;
      }
      addScaledInPlace(this.state.global, mean);
    }
    this.model.setTrainable(this.state.global);
    const aggregateMs = performance.now() - a0;
    const e0 = performance.now();
    const isLast = t === cfg.federation.rounds;
    const ev = isLast || t % cfg.eval.every === 0
      ? await evaluate(this.model, this.input.test, cfg.eval.batchSize) : null;
    const evalMs = performance.now() - e0;
    const timing = this.latency.finishRound(clients, plan);
    this.state.round = t;
    this.state.cumUplinkBits += timing.uplinkBits;
    this.state.cumTime += timing.roundTime;
    this.state.control = controller.getState();
    return {
      round: t,
      trainLoss: weightSum ? lossSum / weightSum : NaN,
      testAcc: ev ? ev.acc : null,
      testLoss: ev ? ev.loss : null,
      ...(ev ? { classAcc: ev.classAcc, ...(ev.confusion ? { confusion: ev.confusion } : {}) } : {}),
      ...timing,
      cumUplinkBits: this.state.cumUplinkBits,
      cumTime: this.state.cumTime,
      wallMs: performance.now() - t0,
      phaseMs: { plan: planMs, train: trainMs, compress: compressMs, measure: measureMs, aggregate: aggregateMs, eval: evalMs },
      clientSamples,
      orthResidual: this.layers.length ? orthResidual(this.state.global, this.layers) : null,
      sparsError: relErrors.length ? relErrors.reduce((x, y) => x + y, 0) / relErrors.length : null,
      covNorm,
      compressMs,
      clientFlops,
      droppedClients,
    };
  }

  /** Accuracy of the current global model on the test set. */
  evaluateGlobal(): Promise<EvalResult> {
    this.model.setTrainable(this.state.global);
    return evaluate(this.model, this.input.test, this.cfg.eval.batchSize);
  }

  restore(state: TrainerState): void {
    this.state = { ...state, global: cloneWeights(state.global), control: state.control ?? { queue: 0, tails: {} } };
    this.latency.controller.setState(this.state.control);
    this.model.setTrainable(this.state.global);
  }

  dispose(): void { this.model.dispose(); }
}
