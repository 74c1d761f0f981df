/**
 * The engine's types that cross every transport unchanged: a metrics row (one line of
 * metrics.jsonl) and a config issue. Defined once here; the contract (src/contract/api.ts) re-exports
 * them, so the engine, the service, the transports and the renderer agree by construction.
 */

/** One issue of a config: its dotted path and a message naming the fix. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** One round of a run: a line of metrics.jsonl (README, "metrics.jsonl fields"); extra fields pass through. */
export interface RoundMetrics {
  round: number;
  trainLoss: number;
  testAcc: number | null;
  testLoss: number | null;
  /** Accuracy per class, in class order, on evaluated rounds (null: no test sample of that class). */
  classAcc?: (number | null)[];
  /** Evaluation counts, rows = true class, columns = predicted (at most 50 classes). */
  confusion?: number[][];
  uplinkBits: number;
  cumUplinkBits: number;
  roundTime: number;
  cumTime: number;
  wallMs: number;
  clientIds: number[];
  clientBits: number[];
  /** Samples each sampled client trained on this round (rows written by older versions lack it). */
  clientSamples?: number[];
  [extra: string]: unknown;
}
