import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tools/**/*.test.ts', 'test/**/*.test.ts'],
    // Image tests write GiB-sized sparse files and run external tools; two cores here.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    setupFiles: ['test/support/event-loop-watch.ts'],
    minWorkers: 1,
  },
});
