/**
 * What travels through the queue, as zod schemas with bounded sizes: a worker parses every job
 * before doing anything with it and runs only these kinds; the coordinator parses every result.
 *
 *  - the run record (one Redis key per run): the run's config, its LoRA rank, the coordinator's
 *    backend and the files (model, dataset) by shipped name or path with their SHA-256;
 *  - `client` jobs: one client's local training in one round (global trainable weights, the
 *    client's optimizer state, round and client id), referring to the record by its digest;
 *  - `run` jobs (sweeps): a whole run executed by one worker.
 *
 * Tensors travel as base64 of their little-endian float32 bytes, so they arrive bit for bit.
 * Job ids carry run, round, client, attempt and a digest of the inputs: a result from another run,
 * round or input is never taken for this one.
 */
import * as crypto from 'node:crypto';
import { z } from 'zod';
import type { LocalJob } from '../../engine/fl/federated';
import type { LocalResult } from '../../engine/fl/client';
import type { OptimizerState } from '../../engine/fl/optimizer';
import type { WeightMap } from '../../engine/model/types';

/** Queue names (BullMQ prefix "fedlora"). */
export const CLIENT_QUEUE = 'clients';
export const RUN_QUEUE = 'runs';
export const QUEUE_PREFIX = 'fedlora';
export const JOB_KINDS = ['client', 'run'] as const;

/** Largest tensor a job may carry (floats) and largest total per job: 2^25 floats = 128 MiB. */
export const MAX_TENSOR_FLOATS = 2 ** 25;
export const MAX_JOB_FLOATS = 2 ** 25;
/** Most tensors in one weight map; longest tensor name. */
export const MAX_TENSORS = 4096;
const NAME_RE = /^[A-Za-z0-9_.\-/]{1,200}$/;
const RUN_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Largest config in a run record (characters of its JSON). */
export const MAX_CONFIG_CHARS = 1_000_000;
/** Most files in a run's manifest (an image-folder dataset has one per image). */
export const MAX_MANIFEST_FILES = 200_000;

const b64Len = (floats: number) => 4 * Math.ceil((floats * 4) / 3);

const tensorSchema = z.object({
  shape: z.array(z.number().int().min(0).max(MAX_TENSOR_FLOATS)).max(8),
  data: z.string().max(b64Len(MAX_TENSOR_FLOATS)).regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'must be base64' }),
}).strict().superRefine((t, ctx) => {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n > MAX_TENSOR_FLOATS) ctx.addIssue({ code: 'custom', message: `${n} values, more than ${MAX_TENSOR_FLOATS}` });
  else if (Buffer.byteLength(t.data, 'base64') !== n * 4) ctx.addIssue({ code: 'custom', message: `data holds ${Buffer.byteLength(t.data, 'base64')} bytes, shape [${t.shape}] needs ${n * 4}` });
});
const floatsSchema = z.string().max(b64Len(MAX_TENSOR_FLOATS)).regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'must be base64' })
  .refine((s) => Buffer.byteLength(s, 'base64') % 4 === 0, { error: 'byte length must be a multiple of 4 (float32)' });
const nameMap = <T extends z.ZodType>(v: T) => z.record(z.string().regex(NAME_RE, { error: 'tensor names: letters, digits, _ . - /, at most 200' }), v)
  .refine((m) => Object.keys(m).length <= MAX_TENSORS, { error: `at most ${MAX_TENSORS} tensors` });
const weightsSchema = nameMap(tensorSchema);
const optStateSchema = z.object({ step: z.number().int().min(0).max(2 ** 40), m: nameMap(floatsSchema), v: nameMap(floatsSchema) }).strict();
/** JSON has no NaN/Infinity: a diverged client's loss travels as a string. */
const lossSchema = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);

export type EncodedWeights = z.infer<typeof weightsSchema>;
export type EncodedOptState = z.infer<typeof optStateSchema>;

export const manifestEntrySchema = z.object({
  /** The config field the file belongs to. */
  field: z.enum(['model.name', 'model.tokenizer', 'data.dataset']),
  /** The file's path relative to what the field names ('' when the field names the file itself). */
  rel: z.string().max(1000),
  size: z.number().int().min(0),
  sha256: z.string().regex(HEX64),
}).strict();
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

export const runRecordSchema = z.object({
  v: z.literal(1),
  runId: z.string().regex(RUN_ID_RE),
  /** The run's config.json (paths absolute on the coordinator; shipped names stay names). */
  config: z.record(z.string(), z.unknown()).refine((c) => JSON.stringify(c).length <= MAX_CONFIG_CHARS, { error: `config larger than ${MAX_CONFIG_CHARS} characters` }),
  /** The LoRA rank the run trains (the offline stage's choice when lora.rank is "auto"). */
  rank: z.number().int().min(1).max(4096).nullable(),
  /** The coordinator's tfjs backend: workers must train on the same one for identical results ("any": a whole-run job, trained on the worker's own). */
  backend: z.string().max(40),
  files: z.array(manifestEntrySchema).max(MAX_MANIFEST_FILES),
}).strict();
export type RunRecord = z.infer<typeof runRecordSchema>;

export const clientJobSchema = z.object({
  v: z.literal(1),
  runId: z.string().regex(RUN_ID_RE),
  /** sha256 of the run record's JSON: the worker trains only against that exact record. */
  record: z.string().regex(HEX64),
  round: z.number().int().min(1).max(1_000_000),
  client: z.number().int().min(0).max(1_000_000),
  attempt: z.number().int().min(0).max(1000),
  global: weightsSchema,
  optState: optStateSchema,
}).strict().superRefine((j, ctx) => {
  const floats = Object.values(j.global).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0)
    + [j.optState.m, j.optState.v].reduce((s, m) => s + Object.values(m).reduce((a, x) => a + Buffer.byteLength(x, 'base64') / 4, 0), 0);
  if (floats > MAX_JOB_FLOATS) ctx.addIssue({ code: 'custom', path: ['global'], message: `${floats} values in one job, more than ${MAX_JOB_FLOATS}` });
});
export type ClientJobData = z.infer<typeof clientJobSchema>;

export const workerInfoSchema = z.object({
  id: z.string().max(200), host: z.string().max(200), pid: z.number().int(), backend: z.string().max(40),
}).strict();
export type WorkerInfo = z.infer<typeof workerInfoSchema>;

export const clientResultSchema = z.object({
  v: z.literal(1),
  jobId: z.string().max(400),
  runId: z.string().regex(RUN_ID_RE),
  round: z.number().int(),
  client: z.number().int(),
  update: weightsSchema,
  optState: optStateSchema,
  meanLoss: lossSchema,
  steps: z.number().int().min(0),
  samplesProcessed: z.number().int().min(0),
  worker: workerInfoSchema,
  /** Milliseconds the worker spent: decoding + training + encoding, and training alone. */
  ms: z.object({ total: z.number().min(0), train: z.number().min(0) }).strict(),
}).strict();
export type ClientResultData = z.infer<typeof clientResultSchema>;

export const runJobSchema = z.object({
  v: z.literal(1),
  runId: z.string().regex(RUN_ID_RE),
  record: z.string().regex(HEX64),
}).strict();
export type RunJobData = z.infer<typeof runJobSchema>;

// ---- codecs ------------------------------------------------------------------------------------

export function encodeFloats(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function decodeFloats(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function encodeWeights(w: WeightMap): EncodedWeights {
  const out: EncodedWeights = {};
  for (const name of Object.keys(w).sort()) out[name] = { shape: [...w[name].shape], data: encodeFloats(w[name].data) };
  return out;
}

export function decodeWeights(w: EncodedWeights): WeightMap {
  const out: WeightMap = {};
  for (const [name, t] of Object.entries(w)) out[name] = { shape: t.shape, data: decodeFloats(t.data) };
  return out;
}

const mapFloats = <A, B>(m: Record<string, A>, f: (a: A) => B): Record<string, B> => Object.fromEntries(Object.keys(m).sort().map((k) => [k, f(m[k])]));

export function encodeOptState(s: OptimizerState): EncodedOptState {
  return { step: s.step, m: mapFloats(s.m, encodeFloats), v: mapFloats(s.v, encodeFloats) };
}

export function decodeOptState(s: EncodedOptState): OptimizerState {
  return { step: s.step, m: mapFloats(s.m, decodeFloats), v: mapFloats(s.v, decodeFloats) };
}

export const encodeLoss = (x: number): number | 'NaN' | 'Infinity' | '-Infinity' => Number.isFinite(x) ? x : (String(x) as 'NaN' | 'Infinity' | '-Infinity');
export const decodeLoss = (x: number | string): number => typeof x === 'number' ? x : Number(x);

export const sha256 = (s: string | Buffer): string => crypto.createHash('sha256').update(s).digest('hex');

/**
 * BullMQ job id of a client job: run, round, client, attempt and the first 16 hex digits of the
 * digest of its inputs (BullMQ ids may not contain ":").
 */
export function clientJobId(runId: string, round: number, client: number, attempt: number, inputDigest: string): string {
  return `${runId}.r${round}.c${client}.a${attempt}.${inputDigest.slice(0, 16)}`;
}

/** The payload of a client job (without the attempt: the digest covers the inputs only). */
export function clientJobData(runId: string, record: string, job: LocalJob, attempt: number): ClientJobData {
  return { v: 1, runId, record, round: job.round, client: job.client, attempt, global: encodeWeights(job.global), optState: encodeOptState(job.optState) };
}

/** Digest of what a client job computes from: the same digest means the same result. */
export function inputDigest(d: ClientJobData): string {
  return sha256(JSON.stringify([d.runId, d.record, d.round, d.client, d.global, d.optState]));
}

export function encodeResult(jobId: string, d: ClientJobData, r: LocalResult, worker: WorkerInfo, ms: { total: number; train: number }): ClientResultData {
  return {
    v: 1, jobId, runId: d.runId, round: d.round, client: d.client,
    update: encodeWeights(r.update), optState: encodeOptState(r.optState), meanLoss: encodeLoss(r.meanLoss),
    steps: r.steps, samplesProcessed: r.samplesProcessed, worker, ms,
  };
}

export function decodeResult(r: ClientResultData): LocalResult {
  return { update: decodeWeights(r.update), optState: decodeOptState(r.optState), meanLoss: decodeLoss(r.meanLoss), steps: r.steps, samplesProcessed: r.samplesProcessed };
}

/** zod issues as one line: "path: message; ...". */
export function describeIssues(e: z.ZodError): string {
  return e.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(payload)'}: ${i.message}`).join('; ') + (e.issues.length > 5 ? `; and ${e.issues.length - 5} more` : '');
}
