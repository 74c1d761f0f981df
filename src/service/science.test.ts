/**
 * Acceptance checks of issue 18 on the shipped quick preset (configs/quick.json): what a client
 * message costs, that TSFA uses its latency budget, and that the infeasibility floor is the
 * long-run one. Clock only (no training): every check runs in seconds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, resolved } from '../engine/config';
import { LatencyModel } from '../engine/control/latency';
import { clockInputs } from './simulate';

const configs = path.resolve(__dirname, '../../configs');
const quick = JSON.parse(fs.readFileSync(path.join(configs, 'quick.json'), 'utf8')) as Record<string, any>;

/** The quick preset with `over` merged one level deep. */
function preset(over: Record<string, any>) {
  const merged: Record<string, any> = { ...quick };
  for (const [k, v] of Object.entries(over)) merged[k] = typeof v === 'object' && v && !Array.isArray(v) ? { ...(quick[k] ?? {}), ...v } : v;
  return parseConfig(merged);
}

function latencyModel(over: Record<string, any>): LatencyModel {
  const cfg = preset(over);
  return new LatencyModel({ config: resolved(cfg), ...clockInputs(cfg, configs) });
}

describe('message sizes on the quick preset', () => {
  it('top-k at rho 0.178 codes its positions as min(bitmask, list): at most 77,000 bits per client message', () => {
    const lm = latencyModel({ compression: { method: 'topk', rho: 0.178 } });
    const entries = lm.shape.layers.reduce((n, l) => n + l.rank * (l.din + l.dout), 0);
    const k = Math.ceil(0.178 * entries);
    const bits = lm.messageCost(0.178).bits;
    expect(bits).toBeLessThanOrEqual(77_000);
    // header + head values + k values + an `entries`-bit mask (shorter than k 13-bit indices here)
    expect(k * Math.ceil(Math.log2(entries))).toBeGreaterThan(entries);
    expect(bits).toBe(64 + lm.shape.denseParams * 32 + k * 32 + entries);
  });
});
