import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Test files in parallel. vitest's default is cores - 1 (one file at a time on a 2-core machine),
    // but most files spend their time waiting on worker threads and child processes they start.
    maxWorkers: 3,
  },
});
