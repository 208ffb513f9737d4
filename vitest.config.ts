import { defineConfig } from 'vitest/config';

/** Integration test files that run alone, after the rest. */
const ALONE = ['test/integration/agent/file-mode.test.ts', 'test/integration/cluster/*.test.ts'];

/** What both integration projects share: the real dockerd and broker, separate processes. */
const INTEGRATION = { globalSetup: ['test/env/global-setup.ts'], hookTimeout: 120_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    // Two cores: a few test files at a time, each with its own agent process.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ALONE,
          ...INTEGRATION,
          testTimeout: 240_000,
        },
      },
      {
        // After the others, one file at a time: a container logging as fast as dockerd writes,
        // rotating tens of times a second, is only read whole by an agent that gets its share
        // of the two cores (a reader stalled for a few rotations finds the files deleted).
        test: {
          name: 'integration-alone',
          include: ALONE,
          ...INTEGRATION,
          testTimeout: 360_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
