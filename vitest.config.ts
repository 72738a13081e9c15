import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'topology/**/*.test.ts', 'scripts/**/*.test.ts', 'patches/**/*.test.ts', 'testing/**/*.test.ts', 'packages/sdk/src/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.integration.test.ts', 'topology/**/*.integration.test.ts', 'e2e/**/*.test.ts'],
          globalSetup: ['testing/global-setup.ts'],
          // Two cores and one broker: files run one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
