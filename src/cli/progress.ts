/** Progress on stderr: a redrawn bar on a TTY, one plain line per round otherwise. */
import type { RoundMetrics } from '../contract/api';

function fmtBits(b: number): string {
  const u = ['b', 'kb', 'Mb', 'Gb', 'Tb'];
  let i = 0;
  while (b >= 1000 && i < u.length - 1) { b /= 1000; i++; }
  return `${b.toFixed(b < 10 ? 2 : 1)} ${u[i]}`;
}

function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private readonly start = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);

  round(m: RoundMetrics, total: number): void {
    const elapsed = Date.now() - this.start;
    const eta = (elapsed / m.round) * (total - m.round);
    const acc = m.testAcc === null ? '' : ` acc ${(m.testAcc * 100).toFixed(2)}%`;
    const text = `round ${m.round}/${total} loss ${m.trainLoss.toFixed(4)}${acc} uplink ${fmtBits(m.cumUplinkBits)} elapsed ${fmtDuration(elapsed)} eta ${fmtDuration(eta)}`;
    if (this.tty) {
      const width = 24, done = Math.round((m.round / total) * width);
      process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${text}\x1b[K`);
      if (m.round === total) process.stderr.write('\n');
    } else {
      process.stderr.write(text + '\n');
    }
  }

  /** Client jobs of the current round done on a queue's workers (a TTY line only; plain output stays one line per round). */
  jobs(done: number, total: number, workers: number): void {
    if (this.tty) process.stderr.write(`\r  round in progress: ${done}/${total} client jobs done on ${workers} worker${workers === 1 ? '' : 's'}\x1b[K`);
  }

  log(line: string): void {
    process.stderr.write((this.tty ? '\r\x1b[K' : '') + line + '\n');
  }
}
