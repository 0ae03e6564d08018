import { defineConfig } from 'vitest/config';

/**
 * Three projects. `unit`: pure logic and local servers, seconds (`npm run test:unit` on every save). `integration`:
 * real engines, ffmpeg, daemons, audio at real-time pace, three files at a time: a file mostly waits on its audio's
 * clock (the machine was 85% idle running them one by one), and no test asserts an absolute time, so sharing the
 * two cores changes no outcome. `alone`: the files that compare how the machine copes with a load they make
 * themselves (a meeting beside a flood, alone and flooded), run one at a time after the others so nothing else
 * loads the machine between their two halves. `npm test` runs all three.
 */
const alone = ['test/integration/capacity.test.ts'];
const workers = 3;

export default defineConfig({
  test: {
    globalSetup: ['./test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 10_000, maxWorkers: workers } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: alone,
          testTimeout: 60_000,
          hookTimeout: 30_000,
          maxWorkers: workers,
        },
      },
      {
        test: {
          name: 'alone',
          include: alone,
          testTimeout: 60_000,
          hookTimeout: 30_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
