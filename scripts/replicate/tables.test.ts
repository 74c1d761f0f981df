import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { formatMethodsTable, meanStd, summarizeMethods, toTarget, type MethodRun } from './tables';

function run(method: string, accs: number[], bitsPerRound: number, time: number, status = 'completed'): MethodRun {
  let cb = 0, ct = 0;
  const rows = accs.map((a, i) => { cb += bitsPerRound; ct += time; return { round: i + 1, testAcc: a, cumUplinkBits: cb, cumTime: ct, rho: method === 'dense' ? 1 : 0.25 }; });
  return {
    method, dir: '', config: parseConfig({}), rows,
    summary: { status: status as any, rounds: accs.length, finalAcc: accs[accs.length - 1], bestAcc: Math.max(...accs), totalUplinkBits: cb, meanRoundTime: time, backend: 'wasm' },
  };
}

describe('replication tables', () => {
  it('mean and sample std', () => {
    expect(meanStd([0.7, 0.8, 0.9])).toEqual({ mean: expect.closeTo(0.8, 12), std: expect.closeTo(0.1, 12) });
    expect(meanStd([0.5])).toEqual({ mean: 0.5, std: 0 });
  });

  it('bits and time to a target accuracy: the first round reaching it', () => {
    const r = run('x', [0.5, 0.7, 0.8, 0.75], 100, 2);
    expect(toTarget(r.rows, 0.7)).toEqual({ bits: 200, time: 4 });
    expect(toTarget(r.rows, 0.9)).toBeNull();
  });

  it('per method over seeds; target = 95% of dense; failed runs excluded', () => {
    const ms = summarizeMethods([
      run('dense', [0.6, 0.8], 1000, 3), run('dense', [0.6, 0.8], 1000, 3),
      run('soft', [0.5, 0.77], 300, 1), run('soft', [0.5, 0.7], 300, 1), run('soft', [0.1], 300, 1, 'failed'),
    ]);
    const dense = ms.find((m) => m.method === 'dense')!, soft = ms.find((m) => m.method === 'soft')!;
    expect(dense.target).toBeCloseTo(0.76, 12);
    expect(soft).toMatchObject({ seeds: 3, completed: 2, totalBits: 600, reached: 1, bitsToTarget: 600, timeToTarget: 2 });
    expect(soft.bitsVsDense).toBeCloseTo(0.3, 12);
    expect(soft.finalAcc.mean).toBeCloseTo(0.735, 12);
    const table = formatMethodsTable(ms);
    expect(table[2]).toMatch(/^\| dense \| 2\/2 \| 80\.00 ± 0\.00% \| 0\.00 \| 100\.0% \|/);
    expect(table[3]).toMatch(/\| soft \| 2\/3 \| 73\.50 ± 4\.95% .* 30\.0% .* \(1\/2 reached\)/);
  });
});
