import { defineConfig } from 'vitest/config';

// Benchmarks run through vitest only to share the TypeScript helpers; they measure, they do not assert.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
