/** `fedlora simulate`: the channel and the controller alone, into a run directory with the same contract as a training run. */
import { resolved } from '../../engine/config';
import { keptComponents } from '../../engine/compress/types';
import { CONTROLLERS, type ControlState } from '../../engine/control';
import { namesWhere } from '../../engine/plugin';
import { RoundClock } from '../../engine/control/clock';
import { newSimState, simulateRound, type ProfileSource, type SimRow } from '../../engine/control/simulate';
import { appendJsonLines } from '../runs/fsutil';
import { files, readRunConfig, writeSummary, summarize, updateMeta } from '../runs/runStore';
import { findCheckpoint } from '../runs/checkpoint';
import { clockInputs } from './inputs';

export interface SimulateOptions {
  rounds: number;
  /** A training run directory whose last checkpoint holds the clients' importance tails. */
  profileRun?: string;
  decay?: number;
  noise?: number;
  onRow?(row: SimRow): void;
}

/** Run the clock for `rounds` rounds into a created run directory. */
export function runSimulation(dir: string, opts: SimulateOptions): SimRow[] {
  const config = readRunConfig(dir);
  const { spec, shardSizes } = clockInputs(config, dir);
  if (config.lora.rank === 'auto') throw new Error('simulate: lora.rank "auto" needs the pilot fine-tune; give a number (or run the training to see the offline choice)');
  const rc = resolved(config);
  let source: ProfileSource = { kind: 'synthetic', seed: config.seed, decay: opts.decay ?? 1, noise: opts.noise ?? 0.3 };
  if (opts.profileRun) {
    const { checkpoint: ck, skipped } = findCheckpoint(opts.profileRun);
    if (!ck && skipped.length) throw new Error(`--profile ${opts.profileRun}: no usable checkpoint (${skipped.join('; ')})`);
    const tails: ControlState['tails'] | undefined = ck?.state.control?.tails;
    if (!tails || !Object.keys(tails).length) throw new Error(`--profile ${opts.profileRun}: its checkpoint has no importance profiles (record them with a run whose control.method uses profiles, e.g. ${namesWhere(CONTROLLERS, (d) => d.caps.usesProfiles).join(', ')})`);
    const lens = new Set(Object.values(tails).map((t) => t.length));
    if (lens.size !== 1 || !lens.has(rc.lora.rank + 1)) throw new Error(`--profile ${opts.profileRun}: profiles are for rank ${[...lens][0] - 1}, the config has lora.rank ${rc.lora.rank}`);
    source = { kind: 'recorded', tails };
  }
  updateMeta(dir, { startedAt: new Date().toISOString(), simulate: { rounds: opts.rounds, source: source.kind === 'recorded' ? { kind: 'recorded', run: opts.profileRun } : source } });
  const lm = new RoundClock({ config: rc, spec, shardSizes });
  const st = newSimState();
  const rows: SimRow[] = [];
  let pending: object[] = [];
  for (let t = 0; t < opts.rounds; t++) {
    const row = simulateRound(lm, st, source, rc.lora.rank);
    pending.push({ ...row, trainLoss: null, testAcc: null, testLoss: null, wallMs: 0, kept: keptComponents(row.rho, rc.lora.rank) });
    if (pending.length >= 1000) { appendJsonLines(files(dir).metrics, pending); pending = []; }
    rows.push(row);
    opts.onRow?.(row);
  }
  appendJsonLines(files(dir).metrics, pending);
  writeSummary(dir, summarize(rows.map((r) => ({ ...r, testAcc: null })), 'completed', null));
  updateMeta(dir, { endedAt: new Date().toISOString() });
  return rows;
}
