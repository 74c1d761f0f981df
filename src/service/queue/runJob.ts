/**
 * A `run` job (one run of a sweep) executed whole on a worker: a scratch run directory on the
 * worker, trained on a worker thread (`runWorker.ts`, the app's own run entry) so this process
 * keeps renewing the job's lock; every round's metrics row is streamed back as job progress and
 * all rows come back with the result. The coordinator writes the run directory; nothing of the
 * scratch directory is needed after the job.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Job } from 'bullmq';
import type { ExperimentConfig } from '../../engine/config';
import { createRunDir, readJson, files, type RunSummary } from '../runs/runStore';
import type { RunWorkerData, RunWorkerMessage } from '../runWorker';
import { versions } from '../versions';
import { spawnWorker, workerEntry } from '../workers';
import type { RunRecord, WorkerInfo } from './jobs';

export interface RunJobResult {
  v: 1;
  runId: string;
  rows: Record<string, unknown>[];
  summary: RunSummary;
  /** meta.json fields the worker's run wrote (backend, offline stage, execution). */
  meta: Record<string, unknown>;
  worker: WorkerInfo;
}

export async function runWholeRun(job: Job, record: RunRecord, config: ExperimentConfig, worker: WorkerInfo, log: (s: string) => void): Promise<RunJobResult> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fedlora-worker-'));
  try {
    const dir = createRunDir(scratch, config, versions(), os.cpus().length, record.runId);
    const rows: Record<string, unknown>[] = [];
    const stopFlag = new Int32Array(new SharedArrayBuffer(4));
    const summary = await new Promise<RunSummary>((resolve, reject) => {
      const w = spawnWorker(workerEntry(path.join(__dirname, '..'), 'runWorker'), { dir, stopFlag } satisfies RunWorkerData);
      w.on('message', (m: RunWorkerMessage) => {
        if (m.type === 'round') { rows.push(m.metrics); void job.updateProgress({ round: m.metrics }).catch(() => undefined); }
        else if (m.type === 'log') log(`run ${record.runId}: ${m.line}`);
        else if (m.type === 'done') resolve(m.summary);
        else if (m.type === 'error') reject(new Error(m.message));
      });
      w.on('error', reject);
      w.on('exit', (code) => reject(new Error(`run thread exited (${code})`)));
    });
    const meta = readJson<Record<string, unknown>>(files(dir).meta);
    const keep = ['backend', 'offline', 'execution', 'startedAt', 'endedAt'];
    return { v: 1, runId: record.runId, rows, summary, meta: Object.fromEntries(keep.filter((k) => k in meta).map((k) => [k, meta[k]])), worker };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
