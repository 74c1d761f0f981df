/** The preset configs offered by the app and `sweeps.create` (`configs/*.json`, or the packaged app's copy). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Preset } from '../contract/api';
import { validateConfig } from '../engine/config';

/** Walk up from this file to the folder with package.json holding `name` (works from src/ and out/). */
export function findUp(name: string): string | null {
  const electronRes = (process as { resourcesPath?: string }).resourcesPath;
  if (electronRes && fs.existsSync(path.join(electronRes, name))) return path.join(electronRes, name);
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
    dir = path.dirname(dir);
  }
  return null;
}

/** Every readable `*.json` object in `dir`, in name order, described (or flagged invalid). */
export function listPresets(dir: string | null): Preset[] {
  if (!dir || !fs.existsSync(dir)) return [];
  const out: Preset[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    let config: Record<string, unknown>;
    try { config = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')); } catch { continue; }
    if (!config || typeof config !== 'object' || Array.isArray(config)) continue;
    const id = f.replace(/\.json$/, '');
    const v = validateConfig(config);
    const description = v.ok
      ? `${v.config.model.name}, LoRA rank ${v.config.lora.rank}, ${v.config.federation.numClients} clients (${v.config.federation.clientsPerRound} per round), ${v.config.federation.rounds} rounds, compression ${v.config.compression.method}`
      : 'invalid preset: ' + v.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    out.push({ id, title: typeof config.name === 'string' ? config.name : id, description, config });
  }
  return out;
}
