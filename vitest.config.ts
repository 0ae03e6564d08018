import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure logic and local servers, seconds, safe to run side by side: `npm run test:unit` on
 * every save) and `integration` (real engines, ffmpeg, daemons, audio at real-time pace: one file at a time, since
 * on two cores heavy suites side by side would distort each other's timing). `npm test` runs both.
 */
export default defineConfig({
  test: {
    globalSetup: ['./test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 10_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
