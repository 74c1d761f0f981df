import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Files known to take longest (they start processes, Redis, or train the shipped preset), started
 * first so that no long file is left running alone at the end. vitest orders by the last run's
 * durations when it has them, but a fresh clone (CI) has none and would order by file size.
 */
const SLOW_FIRST = [
  'src/service/queue/queueFaults.test.ts', 'src/service/queue/queue.test.ts', 'src/service/quick.test.ts',
  'src/service/manager.test.ts', 'src/cli/cli.test.ts', 'src/cli/sweep.test.ts', 'src/engine/webgpu.test.ts',
  'src/service/runner.test.ts', 'src/service/report/report.test.ts', 'src/service/queue/serve.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = SLOW_FIRST.findIndex((s) => f.moduleId.endsWith(s));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Test files in parallel. vitest's default is cores - 1 (one file at a time on a 2-core machine),
    // but most files spend their time waiting on worker threads and child processes they start.
    maxWorkers: 3,
    // Files run one after another in a few long-lived processes instead of one fresh process each:
    // tfjs, zod and the engine load once per process, not once per file (test files restore what
    // they change: environment variables, the tfjs backend, injected faults).
    isolate: false,
    sequence: { sequencer: SlowFirst },
  },
});
