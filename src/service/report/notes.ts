/**
 * Plain-language method summary of a run and the modelling assumptions it used, condensed from
 * docs/method.md (the choices the code makes where the method specification is silent). A note appears
 * only when some run of the report used that part of the method.
 */
import { getAt } from '../../engine/paths';
import { COMPRESSORS } from '../../engine/compress';
import { CONTROLLERS, type ControllerDefinition } from '../../engine/control';
import type { PluginDefinition, ReportNote } from '../../engine/plugin';
import { num, obj, type ReportRun } from './load';

const str = (v: unknown, d = '?') => (v === undefined || v === null ? d : typeof v === 'object' ? JSON.stringify(v) : String(v));
const si = (v: number, unit: string) => {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)} G${unit}`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)} M${unit}`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)} k${unit}`;
  return `${+v.toPrecision(3)} ${unit}`;
};

/** A run written by `fedlora simulate`: the channel and controller alone, nothing trained. */
export function isSimulateOnly(r: ReportRun): boolean {
  return r.meta.simulate !== undefined || (r.metrics.length > 0 && !r.metrics.some((m) => typeof m.trainLoss === 'number'));
}

/** One sentence: what the run trained, how it compressed and controlled the uplink. */
export function methodSummary(r: ReportRun): string {
  const c = r.config;
  const method = str(getAt(c, 'compression.method'), 'none');
  const ctrl = str(getAt(c, 'control.method'), 'fixed');
  const part = getAt(c, 'federation.partition') as Record<string, unknown> | undefined;
  const partition = part?.method === 'dirichlet' ? `Dirichlet(${str(part.alpha)}) non-IID` : part?.method === 'shards' ? `${str(part.classesPerClient)} labels per client` : str(part?.method, 'iid');
  const rankCfg = getAt(c, 'lora.rank');
  const rank = rankCfg === 'auto' ? `rank chosen offline by TSFA${r.rank !== null ? ` (${r.rank})` : ''}` : `rank ${str(rankCfg)}`;
  const targets = Array.isArray(getAt(c, 'lora.targets')) ? (getAt(c, 'lora.targets') as string[]).join(', ') : '?';
  const caps = COMPRESSORS.find((d) => d.name === method)?.caps;
  const comp = caps && !caps.sparsifies ? `dense uplink (${method}, ${str(getAt(c, 'compression.valueBits'))}-bit values)`
    : `${method.toUpperCase()} compression (rho ${str(getAt(c, 'compression.rho'))}${getAt(c, 'compression.k') ? `, k ${str(getAt(c, 'compression.k'))}` : ''}, ${str(getAt(c, 'compression.valueBits'))}-bit values${caps?.errorFeedback === false ? '' : `, error feedback ${getAt(c, 'compression.errorFeedback') === false ? 'off' : 'on'}`})`;
  const budget = num(getAt(c, 'control.latencyBudgetS'));
  const ctl: ControllerDefinition | undefined = CONTROLLERS.find((d) => d.name === ctrl);
  const control = ctl?.caps.needsBudget ? `${ctrl.toUpperCase()} control (latency budget ${budget} s${Object.keys(ctl.schema ?? {}).map((f) => `, ${f} ${str(getAt(c, `control.${f}`), 'default')}`).join('')})`
    : `${ctrl} control${budget !== null ? ` (budget ${budget} s logged against)` : ''}`;
  const source = obj(obj(r.meta.simulate).source);
  const who = isSimulateOnly(r)
    ? `Channel and controller simulation (fedlora simulate, no training; ${source.kind === 'synthetic' ? `synthetic importance profiles, decay ${str(source.decay)}` : source.kind ? `importance profiles of ${str(source.run ?? source.kind)}` : 'importance profiles'}) for LoRA ${rank} on ${targets} with ${str(getAt(c, 'federation.numClients'))} clients (${str(getAt(c, 'federation.clientsPerRound'))} per round) over ${r.metrics.length} rounds`
    : `${str(getAt(c, 'model.name'))} fine-tuned with LoRA (${rank} on ${targets}, train mode ${str(getAt(c, 'train.mode'))}) by ${str(getAt(c, 'federation.numClients'))} clients`
      + ` (${str(getAt(c, 'federation.clientsPerRound'))} per round, ${partition} shards of ${str(getAt(c, 'data.dataset'))}) for ${str(getAt(c, 'federation.rounds'))} rounds`;
  return `${who}; ${comp}; ${control};`
    + ` uplink ${si(num(getAt(c, 'channel.bandwidthHz')) ?? 0, 'Hz')}; seed ${str(c.seed)}.`;
}

export interface Note { title: string; text: string }

const uniq = <T>(xs: T[]) => [...new Set(xs)];
function values(runs: ReportRun[], path: string): string {
  return uniq(runs.map((r) => str(getAt(r.config, path)))).join(' / ');
}

/**
 * What the evaluation covered, per run: "the first N test samples" (data.testSamples), or with
 * null "all N test samples" when the run's last confusion matrix gives N, else "the whole test set".
 */
export function evalScope(r: ReportRun): string {
  const cap = num(getAt(r.config, 'data.testSamples'));
  let seen: number | null = null;
  for (let i = r.metrics.length - 1; i >= 0 && seen === null; i--) {
    const c = r.metrics[i].confusion;
    if (Array.isArray(c)) seen = c.flat().reduce<number>((a, x) => a + (typeof x === 'number' ? x : 0), 0);
  }
  if (cap !== null) return seen !== null && seen < cap ? `all ${seen} test samples` : `the first ${cap} test samples`;
  return seen !== null ? `all ${seen} test samples` : 'the whole test set';
}

/** The notes of the plug-ins of a registry that some run uses (`nameOf` reads a run's choice), in registry order. */
function pluginNotes(registry: readonly PluginDefinition[], runs: ReportRun[], nameOf: (r: ReportRun) => string): ReportNote[] {
  return registry.flatMap((d) => {
    const users = runs.filter((r) => nameOf(r) === d.name);
    return users.length && d.note ? [d.note((path) => values(users, path))] : [];
  });
}

/** The channel model and every assumption of the method the runs used (docs/method.md sections 1-4). */
export function methodNotes(runs: ReportRun[]): Note[] {
  const notes: Note[] = [];
  const any = (f: (r: ReportRun) => boolean) => runs.some(f);
  const method = (r: ReportRun) => str(getAt(r.config, 'compression.method'), 'none');
  const ctrl = (r: ReportRun) => str(getAt(r.config, 'control.method'), 'fixed');

  notes.push({ title: 'Federated LoRA (FedIT)', text: 'The server averages the LoRA factors A and B separately, weighted by shard size; B starts at 0, A uniform (PEFT\'s Kaiming bound); a fresh classification head is trained by every client and sent dense. Clients are sampled without replacement each round from a seeded stream; every random draw comes from a named stream under the seed, so a run is reproducible and a resumed run draws what an uninterrupted one draws.' });
  notes.push({ title: 'Evaluation', text: `The global model on ${uniq(runs.map(evalScope)).join(' / ')} every ${values(runs, 'eval.every')} round(s) and always on the last round; rounds without evaluation have testAcc null.` });
  notes.push({
    title: 'Wireless uplink (simulated)',
    text: `Devices are placed once, uniformly over the annulus ${values(runs, 'channel.minDistanceM')} m <= d <= ${values(runs, 'channel.radiusM')} m around the base station (the method specifies a disc, docs/method.md; the inner radius avoids the path-loss singularity at d -> 0). `
      + `Path loss 128.1 + 37.6 log10(d_km) dB with Rayleigh block fading |h|^2 ~ Exp(1) drawn per round and device; the channel depends on the seed and round only, so runs with the same seed see the same channel. `
      + `FDMA over W = ${values(runs, 'channel.bandwidthHz')} Hz, transmit power ${values(runs, 'channel.txPowerDbm')} dBm, noise PSD ${values(runs, 'channel.noisePsdDbmHz')} dBm/Hz; client k's rate with share x_k is x_k W log2(1 + p g_k / (x_k W N0)) (noise over its own band). `
      + `Device speeds are uniform in [${values(runs, 'channel.computeGflopsMin')}, ${values(runs, 'channel.computeGflopsMax')}] GFLOP/s (our choice: the method leaves the distribution open). `
      + 'Compute time = samples x 3 x forward FLOPs / speed (backward counted as twice the forward) + the compressor\'s counted operations / speed; measured wall time never feeds the simulated clock. '
      + 'Round time = max over the sampled clients of compute + bits / rate. The server knows the round\'s gains when it allocates bandwidth (perfect CSI). '
      + (any((r) => num(getAt(r.config, 'channel.downlinkMbps')) !== null) ? `Downlink broadcast of the global weights at ${values(runs, 'channel.downlinkMbps')} Mbit/s is added to compute time.` : 'The downlink is not modelled.'),
  });
  if (any((r) => (num(getAt(r.config, 'channel.bandwidthHz')) ?? 20e6) < 20e6)) {
    notes.push({ title: 'Narrow band', text: 'The shipped adapter is small (about 283 kbit dense), so at the method\'s 20 MHz uploading takes milliseconds and no budget binds; runs with a narrower band (e.g. 100 kHz) put uploading at 20-30% of a round, where a much larger adapter would sit at 20 MHz.' });
  }
  const capsOf = (r: ReportRun) => COMPRESSORS.find((d) => d.name === method(r))?.caps;
  if (any((r) => capsOf(r)?.sparsifies === true)) {
    const agg = values(runs.filter((r) => capsOf(r)?.sparsifies === true), 'compression.aggregate');
    notes.push({ title: 'Sparse aggregation', text: `compression.aggregate = ${agg}: "all" divides by the weight of all sampled clients (an unsent component counts as a zero update), "senders" by the weight of the clients that sent it; the method admits both readings (docs/method.md). Messages carry a 64-bit header; bit counts are exact.` });
  }
  notes.push(...pluginNotes(COMPRESSORS, runs, method));
  if (any((r) => capsOf(r)?.errorFeedback === true && getAt(r.config, 'compression.errorFeedback') !== false)) {
    notes.push({ title: 'Error feedback', text: 'What a client did not send is kept (in factor space) and added to its next update; sparsError measures the error of the update plus that residual.' });
  }
  const ctrlText = pluginNotes(CONTROLLERS, runs, ctrl).map((n) => `${n.title}: ${n.text}`);
  notes.push({ title: 'Controllers', text: [...ctrlText, 'Min-max shares come from a bracketing search on the deadline; shares are scaled to sum to exactly 1.'].join(' ') });
  if (any((r) => getAt(r.config, 'lora.rank') === 'auto' || r.meta.offline !== undefined)) {
    notes.push({ title: 'Offline rank choice', text: 'With lora.rank "auto" a pilot fine-tune at the largest candidate rank on proxy data (here: the first training samples, which slightly overlap the clients\' data; a deployment would use public data) gives an energy curve; each candidate rank is scored by the energy it cannot express plus the energy left out per round at the largest ratio meeting the budget (expected latency from channel statistics). The choice and every candidate\'s score are in meta.json (offline).' });
  }
  if (any(isSimulateOnly)) {
    notes.push({ title: 'Simulate-only runs', text: 'Runs written by `fedlora simulate` run the channel and the controller alone: no training, so no accuracy or loss; importance profiles are synthetic (a seeded power law) or taken from a training run\'s checkpoint.' });
  }
  return notes;
}
