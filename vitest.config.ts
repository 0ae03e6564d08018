import { defineConfig } from 'vitest/config';

/**
 * Three projects. `unit`: pure logic and local servers, seconds (`npm run test:unit` on every save). `integration`:
 * real engines, ffmpeg, daemons, audio at real-time pace, three files at a time: a file mostly waits on its audio's
 * clock (the machine was 85% idle running them one by one), and no test asserts an absolute time, so sharing the
 * two cores changes no outcome. `alone`: the files whose outcome depends on the machine's pace, run one at a time
 * after the others: capacity.test.ts compares a meeting alone and beside a flood it makes itself; fleet.test.ts runs
 * etcd leases of a few seconds, which a process starved of CPU rightly loses. `npm test` runs all three.
 */
const alone = ['test/integration/capacity.test.ts', 'test/integration/fleet.test.ts'];
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
