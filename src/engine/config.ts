/**
 * The experiment config: one zod schema is the single source of its type, defaults, validation
 * and the help text the UI and docs show (`.meta({ description, unit })`).
 */
import { z } from 'zod';
import { BACKENDS } from './backendNames';
import { dbmToWatt, pathLossDb } from './channel/channel';
import { getAt, setAt } from './paths';
import { LINEAR_TARGETS } from './model/types';
import { finite, int, positive, str, within } from './schema';
import { COMPRESSORS, COMPRESSOR_NAMES, compressorDef } from './compress';
import { CONTROLLERS, CONTROLLER_NAMES, controllerDef } from './control';
import { namesWhere, type PluginDefinition } from './plugin';
import type { ConfigIssue } from './wire';

/** Largest offline.horizon: the rounds the offline stage and the budget check simulate. */
export const MAX_HORIZON = 10_000;
/** Smallest mean SNR at the cell edge over the whole band that validation accepts (docs/config.md). */
export const MIN_EDGE_SNR = 1e-3;

/** Mean SNR (fading 1) of a device at the cell edge given the whole band: p g(R) / (W N0). */
export function cellEdgeSnr(ch: { radiusM: number; txPowerDbm: number; noisePsdDbmHz: number; bandwidthHz: number }): number {
  return (dbmToWatt(ch.txPowerDbm) * 10 ** (-pathLossDb(ch.radiusM) / 10)) / (ch.bandwidthHz * dbmToWatt(ch.noisePsdDbmHz));
}

/** "name (summary), ..." of a registry, for a field's help text. */
function choices(defs: readonly PluginDefinition[]): string {
  return defs.map((d) => `${d.name} (${d.summary})`).join(', ');
}

type SchemaOf<X> = X extends { readonly schema: infer S } ? S : object;
type FieldsOf<D extends readonly unknown[]> = D extends readonly [infer H, ...infer R] ? SchemaOf<H> & FieldsOf<R> : object;

/** The config fields the plug-ins of a registry add to their section (typed: each keeps its zod type). */
function pluginFields<D extends readonly PluginDefinition[]>(defs: D): FieldsOf<D> {
  return Object.assign({}, ...defs.map((d) => d.schema ?? {}));
}

const partitionSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('iid') }).strict(),
  z.object({
    method: z.literal('dirichlet'),
    alpha: positive().default(0.5).meta({ description: 'Dirichlet concentration over labels; smaller = more skewed (non-IID)' }),
  }).strict(),
  z.object({
    method: z.literal('shards'),
    classesPerClient: int(1).default(2).meta({ description: 'distinct labels each client holds' }),
  }).strict(),
], { error: 'must be {"method": "iid" | "dirichlet" | "shards", ...}' });

export const configSchema = z.object({
  name: str().max(200, { error: 'must be at most 200 characters' }).default('experiment').meta({ description: 'run name shown in lists and reports (at most 200 characters)' }),
  seed: int(0, 2 ** 31 - 1).default(0).meta({ description: 'root of every random stream (partition, init, sampling, batching, channel)' }),
  backend: z.enum(['auto', ...BACKENDS], { error: `must be one of auto, ${BACKENDS.join(', ')}` }).default('auto')
    .meta({ description: 'tfjs backend; auto tries tensorflow-gpu, webgpu (on a hardware GPU only), tensorflow, wasm, cpu in order; "webgpu" by name also takes a software adapter (SwiftShader)' }),
  data: z.object({
    dataset: str().default('fashion-mnist').meta({ description: 'a shipped dataset (fashion-mnist: images; wordnet-nouns: text) or a path relative to the config file: a folder of IDX files, a folder of class folders of PNG/JPEG images (optionally split into train/ and test/), a .csv or .jsonl file, or a folder holding train and test .csv/.jsonl files (see docs/data.md)' }),
    format: z.enum(['auto', 'idx', 'image-folder', 'csv', 'jsonl'], { error: 'must be one of auto, idx, image-folder, csv, jsonl' }).default('auto')
      .meta({ description: 'how to read data.dataset; auto: from the file extension or the folder contents' }),
    textColumn: str().default('text').meta({ description: 'csv/jsonl: the column (key) holding the text' }),
    labelColumn: str().default('label').meta({ description: 'csv/jsonl: the column (key) holding the label; the distinct training labels are the classes, sorted (numerically when every label is an integer, so ids 0..C-1 keep their ids)' }),
    testFraction: z.number({ error: 'must be a number' }).gt(0, { error: 'must be in (0, 1)' }).lt(1, { error: 'must be in (0, 1)' }).default(0.2)
      .meta({ description: 'share of samples held out for testing when the dataset has no test split (a fixed split, the same for every seed)' }),
    seqLen: int(1, 4096).nullable().default(null).meta({ description: 'text: tokens per sample incl. [CLS]/[SEP] (longer texts are cut, shorter padded); null = the model\'s own (shipped text models: 32; BERT checkpoints: 128)', unit: 'tokens' }),
    trainSamples: int(1).nullable().default(null).meta({ description: 'use only the first N training samples (null = all)' }),
    testSamples: int(1).nullable().default(null).meta({ description: 'evaluate on the first N test samples (null = all)' }),
  }).strict().prefault({}),
  model: z.object({
    name: str().default('vit-fmnist-base').meta({ description: 'a shipped model (vit-fmnist-base, text-wordnet-base; vit-tiny-random: the ViT-Tiny shape with seeded random weights, for GPU speed studies) or a .safetensors file, relative to the config file: one of ours, a timm ViT/DeiT or a Hugging Face BERT checkpoint (see docs/models.md)' }),
    format: z.enum(['auto', 'fedlora', 'timm-vit', 'hf-bert'], { error: 'must be one of auto, fedlora, timm-vit, hf-bert' }).default('auto')
      .meta({ description: 'name map of the weights file; auto: fedlora when it carries our metadata, else recognised from the tensor names' }),
    heads: int(1, 1024).nullable().default(null).meta({ description: 'attention heads of a timm/HF checkpoint (not stored in the weights); null = config.json beside the file, else dim / 64' }),
    tokenizer: str().nullable().default(null).meta({ description: 'text models: a Hugging Face tokenizer.json, relative to the config file; null = the one inside the model file, else tokenizer.json beside it' }),
    pixelMean: z.array(finite(), { error: 'must be an array of numbers' }).min(1, { error: 'must have one value per channel' }).nullable().default(null)
      .meta({ description: 'image models: per-channel mean subtracted after scaling pixels to [0, 1] (timm: usually [0.5, 0.5, 0.5] or ImageNet [0.485, 0.456, 0.406]); null = none' }),
    pixelStd: z.array(positive(), { error: 'must be an array of numbers > 0' }).min(1, { error: 'must have one value per channel' }).nullable().default(null)
      .meta({ description: 'image models: per-channel divisor after subtracting pixelMean; null = 1' }),
  }).strict().prefault({}),
  lora: z.object({
    rank: z.union([int(1, 256), z.literal('auto')], { error: 'must be an integer in 1..256 or "auto"' }).default(8)
      .meta({ description: 'LoRA rank r (components per adapted layer); "auto" lets the TSFA offline stage choose it from offline.candidates' }),
    alpha: positive().default(16).meta({ description: 'LoRA scale numerator: the update is (alpha / r) B A' }),
    targets: z.array(z.enum(LINEAR_TARGETS, { error: `must be one of ${LINEAR_TARGETS.join(', ')}` }), { error: 'must be an array' })
      .min(1, { error: 'must name at least one projection' })
      .refine((t) => new Set(t).size === t.length, { error: 'must not repeat a projection' })
      .default(['q', 'v']).meta({ description: 'projections that carry adapters: q, k, v, o (attention), fc1, fc2 (MLP)' }),
  }).strict().prefault({}),
  train: z.object({
    mode: z.enum(['lora', 'head-only', 'full'], { error: 'must be one of lora, head-only, full' }).default('lora')
      .meta({ description: 'what clients train: LoRA adapters + head, the head alone, or every weight' }),
    optimizer: z.enum(['adam', 'sgd'], { error: 'must be adam or sgd' }).default('adam').meta({ description: 'local optimizer; its state is kept per client across rounds' }),
    lr: positive().default(0.003).meta({ description: 'local learning rate' }),
    momentum: z.number({ error: 'must be a number' }).min(0, { error: 'must be in [0, 1)' }).lt(1, { error: 'must be in [0, 1)' }).default(0.9).meta({ description: 'SGD momentum' }),
    batchSize: int(1, 4096).default(32).meta({ description: 'local batch size (samples)' }),
    localEpochs: int(1, 1000).default(1).meta({ description: 'local epochs per round (E)' }),
    localSteps: int(1).nullable().default(null).meta({ description: 'if set, a fixed number of local steps per round instead of epochs' }),
    onDivergence: z.enum(['drop-client', 'fail'], { error: 'must be drop-client or fail' }).default('drop-client')
      .meta({ description: 'a client whose update has NaN/Inf is dropped from the round (logged in droppedClients), or the run fails' }),
  }).strict().prefault({}),
  federation: z.object({
    numClients: int(1, 100000).default(20).meta({ description: 'clients K' }),
    clientsPerRound: int(1, 100000).default(5).meta({ description: 'clients sampled per round S (<= K)' }),
    rounds: int(1, 1000000).default(5).meta({ description: 'communication rounds T' }),
    partition: partitionSchema.prefault({ method: 'dirichlet' }).meta({ description: 'how training samples are split across clients' }),
  }).strict().prefault({}),
  compression: z.object({
    method: z.enum(COMPRESSOR_NAMES, { error: `must be one of ${COMPRESSOR_NAMES.join(', ')}` }).default('none')
      .meta({ description: `uplink compression: ${choices(COMPRESSORS)}` }),
    rho: z.number({ error: 'must be a number' }).gt(0, { error: 'must be in (0, 1]' }).max(1, { error: 'must be in (0, 1]' }).default(0.25)
      .meta({ description: 'sparsification ratio: share of LoRA components (soft, svd) or entries (topk, randk) sent; the controller may override it per round' }),
    k: int(1).nullable().default(null).meta({ description: 'topk/randk: number of entries to send (overrides rho); null = use rho' }),
    valueBits: z.union([z.literal(32), z.literal(16)], { error: 'must be 32 or 16' }).default(32).meta({ description: 'bits per transmitted value', unit: 'bit' }),
    aggregate: z.enum(['senders', 'all'], { error: 'must be senders or all' }).default('all')
      .meta({ description: 'soft: average each component over the clients that sent it (senders) or over all sampled clients, unsent counting as zero (all)' }),
    errorFeedback: z.boolean({ error: 'must be true or false' }).default(true).meta({ description: 'keep what was not sent and add it to the next update (factor-space methods)' }),
    ...pluginFields(COMPRESSORS),
  }).strict().prefault({}),
  soft: z.object({
    lambda: z.number({ error: 'must be a number' }).min(0, { error: 'must be >= 0' }).refine(Number.isFinite, { error: 'must be finite' }).default(0)
      .meta({ description: 'weight of the near-orthogonality regulariser on normalised LoRA components (0 = plain LoRA)' }),
  }).strict().prefault({}),
  channel: z.object({
    radiusM: within(1, 1e6).default(500).meta({ description: 'cell radius: devices are placed uniformly in a disc around the base station', unit: 'm' }),
    minDistanceM: within(0.01, 1e6).default(10).meta({ description: 'closest a device may be to the base station', unit: 'm' }),
    txPowerDbm: within(-100, 100).default(23).meta({ description: 'device transmit power', unit: 'dBm' }),
    noisePsdDbmHz: within(-250, -50).default(-174).meta({ description: 'noise power spectral density N0', unit: 'dBm/Hz' }),
    bandwidthHz: within(1, 1e12).default(20e6).meta({ description: 'total uplink bandwidth W shared by FDMA; with the other channel values it must leave a device at the cell edge a mean SNR of at least 1e-3 over the whole band (below that its rate rounds to 0 bit/s)', unit: 'Hz' }),
    computeGflopsMin: within(1e-6, 1e9).default(5).meta({ description: 'slowest device speed (speeds are drawn uniformly once per device)', unit: 'GFLOP/s' }),
    computeGflopsMax: within(1e-6, 1e9).default(20).meta({ description: 'fastest device speed', unit: 'GFLOP/s' }),
    downlinkMbps: within(1e-6, 1e9).nullable().default(null).meta({ description: 'downlink broadcast rate for the global factors; null = downlink time not modelled', unit: 'Mbit/s' }),
  }).strict().prefault({}),
  control: z.object({
    method: z.enum(CONTROLLER_NAMES, { error: `must be one of ${CONTROLLER_NAMES.join(', ')}` }).default('fixed')
      .meta({ description: `per-round choice of rho and bandwidth shares: ${choices(CONTROLLERS)}` }),
    latencyBudgetS: positive().max(1e9, { error: 'must be at most 1e9 s' }).nullable().default(null).meta({ description: 'long-term average round latency budget T_bar (required for tsfa; logged against for the others)', unit: 's' }),
    ...pluginFields(CONTROLLERS),
  }).strict().prefault({}),
  offline: z.object({
    candidates: z.array(int(1, 256), { error: 'must be an array of ranks' }).min(1, { error: 'must list at least one rank' })
      .default([1, 2, 4, 8, 16, 32]).meta({ description: 'ranks the offline stage chooses from when lora.rank is "auto"' }),
    pilotSamples: int(1, 1_000_000).default(256).meta({ description: 'server-side proxy samples for the pilot fine-tune (the first N training samples)' }),
    pilotSteps: int(1, 100_000).default(20).meta({ description: 'local steps of the pilot fine-tune at the largest candidate rank' }),
    horizon: int(1, MAX_HORIZON).default(50).meta({ description: 'rounds of sampled clients the expected latency is averaged over' }),
  }).strict().prefault({}),
  checkpoint: z.object({
    every: int(1).default(1).meta({ description: 'write a checkpoint every N rounds (resume restarts from the last one)' }),
    keep: int(1, 1000).default(2).meta({ description: 'checkpoints kept on disk (older ones are deleted)' }),
  }).strict().prefault({}),
  eval: z.object({
    every: int(1).default(1).meta({ description: 'evaluate every N rounds (always on the last)' }),
    batchSize: int(1, 65536).default(256).meta({ description: 'evaluation batch size' }),
  }).strict().prefault({}),
}).strict().superRefine((c, ctx) => {
  if (c.federation.clientsPerRound > c.federation.numClients) {
    ctx.addIssue({ code: 'custom', path: ['federation', 'clientsPerRound'], message: `must be <= federation.numClients (${c.federation.numClients})` });
  }
  if (c.channel.computeGflopsMax < c.channel.computeGflopsMin) {
    ctx.addIssue({ code: 'custom', path: ['channel', 'computeGflopsMax'], message: `must be >= channel.computeGflopsMin (${c.channel.computeGflopsMin})` });
  }
  if (c.channel.minDistanceM >= c.channel.radiusM) {
    ctx.addIssue({ code: 'custom', path: ['channel', 'minDistanceM'], message: `must be < channel.radiusM (${c.channel.radiusM})` });
  }
  const edgeSnr = cellEdgeSnr(c.channel);
  if (!(edgeSnr >= MIN_EDGE_SNR)) {
    ctx.addIssue({ code: 'custom', path: ['channel', 'bandwidthHz'], message: `gives a device at the cell edge (${c.channel.radiusM} m) an SNR of ${edgeSnr.toPrecision(3)} over the whole band, below ${MIN_EDGE_SNR}: its rate would round to 0 bit/s; lower channel.bandwidthHz or channel.radiusM, or raise channel.txPowerDbm` });
  }
  const ctl = controllerDef(c.control.method), ctlName = `control.method "${c.control.method}"`;
  const comp = compressorDef(c.compression.method);
  if (ctl.caps.needsBudget && c.control.latencyBudgetS === null) ctx.addIssue({ code: 'custom', path: ['control', 'latencyBudgetS'], message: `${ctlName} needs a latency budget in seconds, e.g. 2` });
  if (ctl.caps.choosesRho) {
    if (!comp.caps.sparsifies) ctx.addIssue({ code: 'custom', path: ['compression', 'method'], message: `${ctlName} chooses rho, so it needs a compressor that rho changes: one of ${namesWhere(COMPRESSORS, (d) => d.caps.sparsifies).join(', ')}` });
    if (c.compression.k !== null) ctx.addIssue({ code: 'custom', path: ['compression', 'k'], message: `must be null with ${ctlName} (the controller chooses rho)` });
  }
  if (c.compression.k !== null && !comp.caps.usesK) {
    ctx.addIssue({ code: 'custom', path: ['compression', 'k'], message: `compression.method "${c.compression.method}" does not send a number of entries; use compression.rho, or one of ${namesWhere(COMPRESSORS, (d) => d.caps.usesK).join(', ')}` });
  }
  if ((c.model.pixelMean === null) !== (c.model.pixelStd === null) || (c.model.pixelMean && c.model.pixelStd && c.model.pixelMean.length !== c.model.pixelStd.length)) {
    ctx.addIssue({ code: 'custom', path: ['model', 'pixelStd'], message: 'model.pixelMean and model.pixelStd go together, one value per channel each' });
  }
  if (c.lora.rank === 'auto') {
    if (!ctl.caps.picksRank) ctx.addIssue({ code: 'custom', path: ['lora', 'rank'], message: `"auto" needs a control.method that picks the rank offline (${namesWhere(CONTROLLERS, (d) => d.caps.picksRank).map((n) => `"${n}"`).join(', ')}) with a latency budget; give a number otherwise` });
    if (c.train.mode !== 'lora') ctx.addIssue({ code: 'custom', path: ['lora', 'rank'], message: '"auto" needs train.mode "lora"' });
  }
});

/** A config whose rank is a number (after the offline stage chose it). */
export type ResolvedConfig = Omit<z.output<typeof configSchema>, 'lora'> & { lora: Omit<z.output<typeof configSchema>['lora'], 'rank'> & { rank: number } };

/** The config with lora.rank fixed to `rank` (the offline stage's choice). */
export function withRank(c: z.output<typeof configSchema>, rank: number): ResolvedConfig {
  return { ...c, lora: { ...c.lora, rank } };
}

/** Narrow a config whose rank is already a number; throws if it is still "auto". */
export function resolved(c: z.output<typeof configSchema>): ResolvedConfig {
  if (c.lora.rank === 'auto') throw new Error('lora.rank is "auto": run the offline stage (runOfflineStage) first');
  return c as ResolvedConfig;
}

export type ExperimentConfig = z.output<typeof configSchema>;
export type ExperimentConfigInput = z.input<typeof configSchema>;

export type { ConfigIssue };

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.path || '(config root)'}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** A short quote of a value for an error message; never throws (deeply nested input included). */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  let s: string | undefined;
  try { s = JSON.stringify(v); } catch { return Array.isArray(v) ? 'a deeply nested array' : 'a deeply nested value'; }
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** Config fields renamed since a run directory could have been written: [old dotted path, current one]. */
export const RENAMED_FIELDS: readonly [from: string, to: string][] = [
  ['control.latencyBudget', 'control.latencyBudgetS'],
];

/**
 * A config document with renamed fields under their current names (a copy; the input is not
 * changed), so old run directories and old config files keep working. A document that gives both
 * names keeps both, and validation then names the old one as unknown.
 */
export function upgradeConfig(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  let out = input as Record<string, unknown>;
  for (const [from, to] of RENAMED_FIELDS) {
    const value = getAt(out, from);
    if (value === undefined || getAt(out, to) !== undefined) continue;
    out = setAt(setAt(out, from, undefined), to, value);
  }
  return out;
}

/** Validate and fill defaults; returns per-field issues instead of throwing. Renamed fields are read under their old names too. */
export function validateConfig(raw: unknown): { ok: true; config: ExperimentConfig } | { ok: false; issues: ConfigIssue[] } {
  const input = upgradeConfig(raw);
  const r = configSchema.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  const issues = r.error.issues.map((iss) => {
    if (iss.code === 'unrecognized_keys') {
      const where = iss.path.map(String).join('.');
      return { path: where, message: `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')}; remove or fix the spelling` };
    }
    const path = iss.path.map(String).join('.');
    const got = getAt(input, iss.path);
    return { path, message: `${iss.message}, got ${show(got)}` };
  });
  return { ok: false, issues };
}

/** Validate or throw a ConfigError. */
export function parseConfig(input: unknown): ExperimentConfig {
  const r = validateConfig(input);
  if (!r.ok) throw new ConfigError(r.issues);
  return r.config;
}

/** Help text for every field, for docs and the UI: path -> { description, default }. */
export function configHelp(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
