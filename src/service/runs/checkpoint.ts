/**
 * Checkpoints: everything a run needs to continue after round t, written after every completed
 * round (`checkpoint.every`) as `checkpoints/round-<t>.safetensors` (tensors + JSON metadata) with
 * a SHA-256 sidecar; the last `keep` are kept. The sidecar is written before the checkpoint, so a
 * checkpoint in place always has its checksum (a kill in between leaves a sidecar alone, which is
 * ignored). Loading never throws for a bad checkpoint: one that is missing its checksum, does not
 * match it or does not decode is skipped (and reported) in favour of the previous one, and with
 * none left the run starts over from round 0.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainerState } from '../../engine/fl/federated';
import type { ControlState } from '../../engine/control/types';
import { encodeSafetensors, parseSafetensors } from '../../engine/model/safetensors';
import type { WeightMap } from '../../engine/model/types';
import { crashPoint, writeFileAtomic } from './fsutil';

const DIR = 'checkpoints';
const NAME = /^round-(\d{6})\.safetensors$/;

function sha256(b: Uint8Array): string { return crypto.createHash('sha256').update(b).digest('hex'); }

/** Flatten the trainer state into named tensors + JSON metadata. */
export function encodeCheckpoint(state: TrainerState, extra: Record<string, unknown> = {}): Uint8Array {
  const tensors: WeightMap = {};
  const put = (prefix: string, w: WeightMap) => { for (const [k, v] of Object.entries(w)) tensors[`${prefix}/${k}`] = v; };
  put('global', state.global);
  const optSteps: Record<string, number> = {};
  for (const [k, o] of Object.entries(state.clientOpt)) {
    optSteps[k] = o.step;
    for (const [n, d] of Object.entries(o.m)) tensors[`opt/${k}/m/${n}`] = { shape: [d.length], data: d };
    for (const [n, d] of Object.entries(o.v)) tensors[`opt/${k}/v/${n}`] = { shape: [d.length], data: d };
  }
  for (const [k, r] of Object.entries(state.clientResidual)) put(`res/${k}`, r);
  const meta = { round: state.round, cumUplinkBits: state.cumUplinkBits, cumTime: state.cumTime, control: state.control, optSteps, extra };
  return encodeSafetensors(tensors, { 'fedlora.checkpoint': JSON.stringify(meta) });
}

export function decodeCheckpoint(bytes: Uint8Array, file: string): { state: TrainerState; extra: Record<string, unknown> } {
  const { tensors, metadata } = parseSafetensors(bytes, file);
  const text = metadata['fedlora.checkpoint'];
  if (!text) throw new Error(`${file}: not a checkpoint (no "fedlora.checkpoint" metadata)`);
  const meta = JSON.parse(text) as { round: number; cumUplinkBits: number; cumTime: number; control?: ControlState; optSteps: Record<string, number>; extra: Record<string, unknown> };
  const state: TrainerState = { round: meta.round, global: {}, clientOpt: {}, clientResidual: {}, cumUplinkBits: meta.cumUplinkBits, cumTime: meta.cumTime, control: meta.control ?? { queue: 0, tails: {} } };
  for (const [k, step] of Object.entries(meta.optSteps)) state.clientOpt[Number(k)] = { step, m: {}, v: {} };
  for (const [name, t] of Object.entries(tensors)) {
    const parts = name.split('/');
    if (parts[0] === 'global') state.global[parts.slice(1).join('/')] = t;
    else if (parts[0] === 'opt') state.clientOpt[Number(parts[1])][parts[2] as 'm' | 'v'][parts.slice(3).join('/')] = t.data;
    else if (parts[0] === 'res') (state.clientResidual[Number(parts[1])] ??= {})[parts.slice(2).join('/')] = t;
  }
  return { state, extra: meta.extra };
}

export function saveCheckpoint(runDir: string, state: TrainerState, extra: Record<string, unknown>, keep: number): string {
  const dir = path.join(runDir, DIR);
  fs.mkdirSync(dir, { recursive: true });
  const bytes = encodeCheckpoint(state, extra);
  const file = path.join(dir, `round-${String(state.round).padStart(6, '0')}.safetensors`);
  writeFileAtomic(file + '.sha256', sha256(bytes) + '\n');
  crashPoint('checkpoint-after-sidecar');
  writeFileAtomic(file, bytes);
  crashPoint('checkpoint-after-data');
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) removeCheckpoint(old.file);
  removeOrphanSidecars(runDir, file);
  return file;
}

function removeCheckpoint(file: string): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(file + '.sha256', { force: true });
}

/** Sidecars whose checkpoint never landed (a kill between the two writes), except `keepFor`'s. */
function removeOrphanSidecars(runDir: string, keepFor?: string): void {
  const dir = path.join(runDir, DIR);
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const n of names) {
    if (!n.endsWith('.safetensors.sha256')) continue;
    const data = path.join(dir, n.slice(0, -'.sha256'.length));
    if (data !== keepFor && !fs.existsSync(data)) fs.rmSync(path.join(dir, n), { force: true });
  }
}

export function listCheckpoints(runDir: string): { round: number; file: string }[] {
  const dir = path.join(runDir, DIR);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((f) => NAME.exec(f)).filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ round: Number(m[1]), file: path.join(dir, m[0]) })).sort((a, b) => a.round - b.round);
}

export interface LoadedCheckpoint { state: TrainerState; extra: Record<string, unknown>; file: string; skipped: string[] }

/**
 * The newest checkpoint that verifies and decodes, or null when there is none; `skipped` lists the
 * newer ones that did not, with the reason. Never throws for a bad checkpoint.
 */
export function findCheckpoint(runDir: string): { checkpoint: LoadedCheckpoint | null; skipped: string[] } {
  const skipped: string[] = [];
  let all: { round: number; file: string }[];
  try { all = listCheckpoints(runDir); } catch (e) { return { checkpoint: null, skipped: [`${path.join(runDir, DIR)}: ${(e as Error).message}`] }; }
  for (const { file } of all.reverse()) {
    try {
      const bytes = new Uint8Array(fs.readFileSync(file));
      const want = fs.readFileSync(file + '.sha256', 'utf8').trim();
      if (sha256(bytes) !== want) { skipped.push(`${file}: checksum mismatch`); continue; }
      return { checkpoint: { ...decodeCheckpoint(bytes, file), file, skipped }, skipped };
    } catch (e) {
      skipped.push(`${file}: ${(e as Error).message}`);
    }
  }
  return { checkpoint: null, skipped };
}

/** Remove the checkpoints after `round` (unusable ones a resume passed over) and orphan sidecars. */
export function discardCheckpointsAfter(runDir: string, round: number): string[] {
  const gone = listCheckpoints(runDir).filter((c) => c.round > round).map((c) => c.file);
  for (const f of gone) removeCheckpoint(f);
  removeOrphanSidecars(runDir);
  return gone;
}
