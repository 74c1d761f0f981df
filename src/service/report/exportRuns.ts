/**
 * `reports.export` over the run manager's folder: validates the request, writes the report into a
 * fresh `<runsDir>/_reports/<time>-<name>/` (a leading underscore is not a valid run id, so the
 * runs list and the interrupted-run scan skip it) and maps failures to contract errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiError, type ReportExport } from '../../contract/api';
import { files } from '../runs/runStore';
import { launchChromium, type ReportBrowser } from './browser';
import { exportReport, parseFormats, ReportInputError } from './index';

export const REPORTS_FOLDER = '_reports';
const MAX_RUNS = 64;

export interface ReportRunsDir {
  readonly runsDir: string;
  dirOf(id: unknown): string;
}

export async function exportRunsReport(manager: ReportRunsDir, request: Record<string, unknown>, browser?: () => Promise<ReportBrowser>, now = new Date()): Promise<ReportExport> {
  const { ids, formats, targetAcc } = request;
  if (!Array.isArray(ids) || ids.length < 1 || ids.length > MAX_RUNS) throw new ApiError('invalid-request', `reports.export: ids must be an array of 1..${MAX_RUNS} run ids`);
  if (new Set(ids).size !== ids.length) throw new ApiError('invalid-request', 'reports.export: ids must not repeat');
  const dirs = ids.map((id) => {
    const dir = manager.dirOf(id);
    if (!fs.existsSync(files(dir).config)) throw new ApiError('not-found', `no run ${id}`);
    return dir;
  });
  if (formats !== undefined && (!Array.isArray(formats) || !formats.every((f) => typeof f === 'string'))) throw new ApiError('invalid-request', 'reports.export: formats must be an array of strings');
  if (targetAcc !== undefined && !(typeof targetAcc === 'number' && targetAcc > 0 && targetAcc <= 1)) throw new ApiError('invalid-request', `reports.export: targetAcc must be a number in (0, 1], got ${JSON.stringify(targetAcc)}`);
  let list;
  try { list = parseFormats((formats as string[] | undefined) ?? ['html']); } catch (e) { throw new ApiError('invalid-request', `reports.export: ${(e as Error).message}`); }

  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const name = ids.length === 1 ? String(ids[0]) : `compare-${ids.length}-runs`;
  const base = path.join(manager.runsDir, REPORTS_FOLDER, `${stamp}-${name}`.slice(0, 120));
  let outDir = base;
  for (let k = 2; fs.existsSync(outDir); k++) outDir = `${base}-${k}`;
  try {
    const r = await exportReport(dirs, { outDir, formats: list, targetAcc: targetAcc as number | undefined, now, browser: browser ?? (() => launchChromium()) });
    const errors = r.errors.map((e) => `${e.format}: ${e.message}`);
    if (!r.files.length) throw new ApiError('internal', `reports.export: nothing written; ${errors.join('; ')}`);
    return { files: r.files, dir: r.dir, ...(errors.length ? { errors } : {}) };
  } catch (e) {
    if (e instanceof ReportInputError) throw new ApiError('invalid-request', `reports.export: ${e.message}`);
    throw e;
  }
}
