import { defineConfig } from 'vitest/config';
import { VmAwareSequencer } from './test/support/vm-aware-sequencer.ts';

export default defineConfig({
  test: {
    include: ['tools/**/*.test.ts', 'test/**/*.test.ts'],
    // Image tests write GiB-sized sparse files and run external tools; two cores here.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores, but two workers are mostly waiting on VM files (one boots, one waits for the
    // slot): the third runs every other file meanwhile (VmAwareSequencer orders them so).
    maxWorkers: 3,
    sequence: { sequencer: VmAwareSequencer },
    setupFiles: ['test/support/event-loop-watch.ts'],
    minWorkers: 1,
  },
});
