/**
 * The prepared GPU run (bench/gpu/device-run.sh) is only ever run on a lent machine, for minutes:
 * check here what can break it before it gets there. It must parse, its checks' timeouts must fit
 * in one 600 s call with room to unpack, and every bench or CLI option it passes must be one the
 * bundled programs accept (an unknown option would cost the machine's time on a usage message).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const script = fs.readFileSync(path.join(__dirname, 'device-run.sh'), 'utf8');
const runs = [...script.matchAll(/^run (\S+) (\d+) (.*)$/gm)].map((m) => ({ name: m[1], timeout: Number(m[2]), command: m[3] }));

describe('bench/gpu/device-run.sh', () => {
  it('parses (bash -n), as does scripts/gpu-payload.sh', () => {
    for (const f of ['bench/gpu/device-run.sh', 'scripts/gpu-payload.sh']) execFileSync('bash', ['-n', path.join(root, f)]);
  });

  it('runs at least the checks issue 16 needs, each under a timeout (killed 10 s after it), all together within 560 s (one 600 s device call)', () => {
    expect(runs.map((r) => r.name)).toEqual(expect.arrayContaining(['adapter', 'vit-tiny-wasm', 'vit-tiny', 'vit-tiny-opchains', 'quick-webgpu', 'memory']));
    expect(runs.every((r) => r.timeout > 0)).toBe(true);
    expect(script).toContain('timeout -k 10 "$t"');
    expect(runs.reduce((s, r) => s + r.timeout + 10, 0)).toBeLessThanOrEqual(560);
  });

  it('writes at most 8 files to $OUT (the most a device call brings back)', () => {
    const files = new Set([...script.matchAll(/"\$out\/([^"$]+)"/g)].map((m) => m[1]));
    expect(files.size).toBeGreaterThan(0);
    expect(files.size).toBeLessThanOrEqual(8);
    expect(script).not.toMatch(/"\$out\/[^"]*\$/); // no file name made per check
  });

  it('passes the benches and the CLI only options they accept', () => {
    // the benches' options are listed per bench in bench/main.ts's header; the CLI's in its usage
    const benchHeader = fs.readFileSync(path.join(root, 'bench/main.ts'), 'utf8').split('\n');
    let cliUsage = '';
    try { execFileSync(process.execPath, ['--require', 'tsx/cjs', 'src/cli/main.ts'], { cwd: root, stdio: 'pipe' }); } catch (e) { cliUsage = String((e as { stderr?: Buffer }).stderr ?? '') + String((e as { stdout?: Buffer }).stdout ?? ''); }
    expect(cliUsage).toContain('run --config');
    for (const r of runs) {
      const bench = r.command.match(/\$bench (\w+)(.*)$/), cli = r.command.match(/fedlora\.cjs (\w+)(.*)$/);
      expect(bench ?? cli, `${r.name}: runs neither $bench nor fedlora.cjs`).not.toBeNull();
      const help = bench ? benchHeader.find((l) => l.startsWith(` *   ${bench[1]} `)) ?? '' : cliUsage;
      expect(help, `${r.name}: "${(bench ?? cli)![1]}" is not documented`).not.toBe('');
      if (cli) expect(cliUsage).toContain(`  ${cli[1]} `);
      for (const opt of (bench ?? cli)![2].match(/--[a-z-]+/g) ?? []) expect(help, `${r.name}: ${opt}`).toContain(opt);
    }
  });
});
