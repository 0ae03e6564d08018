import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/helpers/global-setup.ts'],
    // The engine and end-to-end tests start real processes and stream audio at real-time pace.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Two cores: running the heavy suites side by side would distort each other's timing.
    fileParallelism: false,
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
  },
});
