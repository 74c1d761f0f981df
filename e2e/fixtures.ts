/** Writes synthetic run directories (config.json, meta.json, summary.json) in the run-directory format. */
import * as fs from 'node:fs'
import * as path from 'node:path'

const METHODS = ['none', 'soft', 'topk', 'randk', 'svd'] as const
const STATUSES = ['completed', 'failed', 'stopped', 'interrupted'] as const

export function writeSyntheticRuns(runsDir: string, count: number): string[] {
  const ids: string[] = []
  const t0 = Date.UTC(2025, 0, 1)
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(4, '0')
    const method = METHODS[i % METHODS.length]
    const id = `20250101-000000-synthetic-${n}`
    const dir = path.join(runsDir, id)
    fs.mkdirSync(dir, { recursive: true })
    const tsfa = i % 7 === 0
    const config = {
      name: `synthetic-${n}`,
      seed: i,
      lora: { rank: 4 + (i % 3) * 4 },
      federation: { rounds: 20 },
      compression: { method, rho: 0.25 },
      control: tsfa ? { method: 'tsfa', latencyBudgetS: 2 } : { method: 'fixed', latencyBudgetS: null }
    }
    const meta = { formatVersion: 1, runId: id, name: config.name, seed: i, createdAt: new Date(t0 + i * 60_000).toISOString(), tags: [i % 2 ? 'odd' : 'even', `batch-${i % 10}`] }
    const status = STATUSES[i % STATUSES.length]
    const acc = 0.5 + ((i * 37) % 40) / 100
    const summary = { status, rounds: 20, finalAcc: acc, bestAcc: acc + 0.01, totalUplinkBits: 1e6 * (1 + (i % 50)), meanRoundTime: 1 + (i % 5) * 0.5, backend: 'wasm' }
    if (i === 0) {
      // one TSFA run whose rank the offline stage chose, with control fields per round
      Object.assign(config.lora, { rank: 'auto' })
      Object.assign(meta, { offline: offlineChoice() })
      fs.writeFileSync(path.join(dir, 'metrics.jsonl'), Array.from({ length: 20 }, (_, r) => JSON.stringify(tsfaRow(r + 1)) + '\n').join(''))
    }
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config))
    fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta))
    fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary))
    ids.push(id)
  }
  return ids
}

/**
 * Round t of the synthetic TSFA run: 6 of 24 clients per round with their bandwidth shares, the
 * slowest client's compute and upload time, wall-clock phases, and (on evaluated rounds, every
 * 5th) per-class accuracy and the confusion matrix of 10 classes x 100 test samples.
 */
function tsfaRow(t: number) {
  const clientIds = Array.from({ length: 6 }, (_, k) => (t * 5 + k * 4) % 24)
  const raw = clientIds.map((_, k) => 1 + ((t + k) % 4))
  const sum = raw.reduce((a, b) => a + b, 0)
  const roundTime = 1.5 + (t % 3) * 0.4
  const evaluated = t % 5 === 0
  const acc = 0.5 + (t - 1) / 50 + ((t * 7) % 5) / 100
  const confusion = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 60 + i * 3 : (i + j + t) % 9 === 0 ? 40 - i * 3 : 0)))
  return {
    round: t, trainLoss: 1 / t + ((t * 13) % 7) / 50, testAcc: evaluated || t === 20 ? acc : null, testLoss: evaluated ? 1 / t + 0.2 : null,
    uplinkBits: 1e5, cumUplinkBits: 1e5 * t, roundTime, cumTime: 2 * t, wallMs: 100 + (t % 4) * 10,
    clientIds, clientBits: clientIds.map(() => 5e4 / 3), shares: raw.map((v) => v / sum),
    computeTime: roundTime - 0.02, commTime: 0.02, rho: [1, 0.25, 0.5][t % 3], queue: (t % 3) * 0.2,
    phaseMs: { plan: 2, train: 70 + (t % 4) * 10, compress: 5, measure: 3, aggregate: 4, eval: evaluated ? 16 : 0 },
    ...(evaluated || t === 20 ? { classAcc: confusion.map((row, i) => row[i] / row.reduce((a, b) => a + b, 0)), confusion } : {})
  }
}

/** A meta.json `offline` record as the TSFA offline stage writes it (rank 8 chosen). */
function offlineChoice() {
  const ranks = [1, 2, 4, 8, 16, 32]
  return {
    chosenRank: 8, budget: 2, feasible: true,
    pilot: { rank: 32, samples: 256, steps: 20, meanLoss: 1.2, energy: Array.from({ length: 33 }, (_, m) => 1 - 0.8 ** m) },
    candidates: ranks.map((rank) => ({ rank, expectedLatencyFull: 0.5 + rank * 0.1, rhoBar: rank <= 8 ? 1 : 8 / rank, kept: Math.min(rank, 8), rankTerm: 0.8 ** rank, sparsTerm: rank <= 8 ? 0 : 0.1 * rank, score: rank === 8 ? 0.17 : 0.5 }))
  }
}
