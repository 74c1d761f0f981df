import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { syncBuiltinESMExports } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../engine/config';
import { appendJsonLines, cleanStaleTemps, injectWriteFault, readJsonLines, writeFileAtomic } from './fsutil';
import { createRunDir, files } from './runStore';
import { tinyConfig } from '../testFixtures';

describe('run directory creation', () => {
  it('a run folder appears whole: a failure (or kill) while writing config.json or meta.json leaves no run folder', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-create-'));
    const config = parseConfig({ ...tinyConfig(), data: { trainSamples: 10 } });
    for (const target of ['config.json', 'meta.json']) {
      injectWriteFault((f) => { if (path.basename(f) === target) throw new Error(`EIO: ${f}`); });
      try {
        expect(() => createRunDir(out, config, {}, 2, `r-${target}`)).toThrow(/EIO/);
      } finally {
        injectWriteFault(null);
      }
    }
    expect(fs.readdirSync(out)).toEqual([]);
    const dir = createRunDir(out, config, {}, 2, 'ok');
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'meta.json']);
    expect(() => createRunDir(out, config, {}, 2, 'ok')).toThrow(/EEXIST/);
    // a creation killed midway leaves `.<id>.<pid>.<ms>.tmp`, removed once its pid is gone
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = path.join(out, `.r1.${dead}.${Date.now()}.tmp`), live = path.join(out, `.r2.${process.ppid}.${Date.now()}.tmp`);
    for (const d of [stale, live]) { fs.mkdirSync(d); fs.writeFileSync(files(d).config, '{}'); }
    expect(cleanStaleTemps(out)).toEqual([stale]);
    expect(fs.readdirSync(out).sort()).toEqual([path.basename(live), 'ok']);
  });

  it('metrics.jsonl: a line counts once its newline is written (an unterminated last line is torn even if it parses)', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-lines-')), 'm.jsonl');
    fs.writeFileSync(f, '{"round":1}\n{"round":2}');
    expect(readJsonLines(f)).toEqual({ rows: [{ round: 1 }], tornLastLine: true });
    fs.writeFileSync(f, '{"round":1}\n{"rou');
    expect(readJsonLines(f)).toEqual({ rows: [{ round: 1 }], tornLastLine: true });
    fs.writeFileSync(f, '{"round":1}\n');
    expect(readJsonLines(f)).toEqual({ rows: [{ round: 1 }], tornLastLine: false });
    fs.writeFileSync(f, '{"round":1}\n{"rou\n{"round":3}\n');
    expect(() => readJsonLines(f)).toThrow(/line 2 is not valid JSON/);
  });

  it('a short write (a disk filling up) is continued, never renamed into place or appended torn', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-short-'));
    const cjsFs = require('node:fs') as typeof fs;
    const real = cjsFs.writeSync;
    // every write puts at most 7 bytes on disk, as a nearly full disk may
    cjsFs.writeSync = ((fd: number, data: Uint8Array, off?: number, len?: number) => real(fd, data, off ?? 0, Math.min(7, len ?? data.length - (off ?? 0)))) as unknown as typeof fs.writeSync;
    syncBuiltinESMExports();
    try {
      writeFileAtomic(path.join(dir, 'summary.json'), JSON.stringify({ status: 'completed', rounds: 12 }));
      appendJsonLines(path.join(dir, 'm.jsonl'), [{ round: 1, trainLoss: 0.5 }, { round: 2, trainLoss: 0.25 }]);
    } finally {
      cjsFs.writeSync = real;
      syncBuiltinESMExports();
    }
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'))).toEqual({ status: 'completed', rounds: 12 });
    expect(readJsonLines(path.join(dir, 'm.jsonl'))).toEqual({ rows: [{ round: 1, trainLoss: 0.5 }, { round: 2, trainLoss: 0.25 }], tornLastLine: false });
  });
});
