import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` never needs Consul; `integration` (test/integration and
 * test/fault) gets one shared dev agent from test/global-setup.ts. Fault tests that kill or
 * restart agents start their own with `startConsul()`; they must not touch the shared one.
 */
export default defineConfig({
  test: {
    // `npm test` (= `vitest run`) must leave .vitest-results.json for .ci/run to summarize.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    // Each integration file may start its own agent (container or process) besides the
    // shared one; two workers keep a 2-core CI machine responsive.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/fault/**/*.test.ts',
            'test/cli/**/*.test.ts',
            'test/cluster/**/*.test.ts',
            'test/chaos/**/*.test.ts',
          ],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
