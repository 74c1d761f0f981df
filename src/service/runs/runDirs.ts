/**
 * Run directories as the RunManager resolves and reads them: an id becomes a folder only when it
 * is a plain name and the folder is not a symbolic link (a link would let a run write elsewhere);
 * a run's JSON files are read with errors that name the file and the problem, never its content;
 * and the start-up sweep marks runs no live process owns `interrupted` (under the run lock) and
 * removes the temp files of killed writers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiError } from '../../contract/api';
import { cleanStaleTemps } from './fsutil';
import { acquireRunLock, cleanStaleClaims, isLocked } from './lock';
import { files, isSymlink, isValidRunId, readJson, readSummary, writeSummary } from './runStore';

/** The folder of a run id under `runsDir`; anything but a plain folder name, or a symlinked folder, is refused. */
export function runDirOf(runsDir: string, id: unknown): string {
  if (typeof id !== 'string' || !isValidRunId(id)) throw new ApiError('invalid-request', `id: not a valid run id: ${JSON.stringify(id)?.slice(0, 80)}`);
  const dir = path.join(runsDir, id);
  if (isSymlink(dir)) throw new ApiError('invalid-request', `run ${id} is a symbolic link; runs must be plain folders in ${runsDir}`);
  return dir;
}

/** A JSON.parse message without the excerpt of the text that V8 quotes in it. */
export function jsonProblem(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/,\s*".*" is not valid JSON$/s, '').replace(/^Unexpected token '.*?'/s, 'Unexpected token').slice(0, 120);
}

/** config.json or meta.json of a run: a missing file is not-found, an unreadable one invalid-config naming the file. */
export function readRunFile<T>(dir: string, which: 'config' | 'meta'): T {
  const file = files(dir)[which];
  const id = path.basename(dir);
  try {
    return readJson<T>(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ApiError('not-found', `run ${id}: no ${path.basename(file)}`);
    if (e instanceof SyntaxError) throw new ApiError('invalid-config', `run ${id}: ${path.basename(file)} is not valid JSON (${jsonProblem(e)}); fix or delete the file`, [{ path: path.basename(file), message: `not valid JSON (${jsonProblem(e)})` }]);
    throw new ApiError('invalid-config', `run ${id}: ${path.basename(file)} cannot be read (${code ?? (e as Error).message})`);
  }
}

/**
 * On start: in every run folder remove dead writers' temp files and takeover claims; runs that a
 * summary calls running or queued but no live process owns become `interrupted` (written under the
 * run lock, so a process that takes the run meanwhile is never overwritten).
 */
export function sweepRunsDir(runsDir: string): { interrupted: string[]; tempsRemoved: number } {
  const interrupted: string[] = [];
  let tempsRemoved = cleanStaleTemps(runsDir).length; // run folders whose creation was cut short
  for (const e of fs.readdirSync(runsDir, { withFileTypes: true })) {
    if (!e.isDirectory() || !isValidRunId(e.name)) continue;
    const dir = path.join(runsDir, e.name);
    tempsRemoved += cleanStaleTemps(dir).length;
    cleanStaleClaims(dir);
    const s = readSummary(dir);
    if (!s || (s.status !== 'running' && s.status !== 'queued') || isLocked(dir)) continue;
    let release: (() => void) | null = null;
    try {
      release = acquireRunLock(dir);
      const now = readSummary(dir);
      if (now && (now.status === 'running' || now.status === 'queued')) {
        writeSummary(dir, { ...now, status: 'interrupted' });
        interrupted.push(e.name);
      }
    } catch {
      /* taken by a live process meanwhile, read-only or vanished: the list shows it as it is */
    } finally {
      release?.();
    }
  }
  return { interrupted, tempsRemoved };
}
