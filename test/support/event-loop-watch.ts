/**
 * Names the tests that blocked their worker's event loop for long. A vitest worker blocked for
 * a minute misses its runner's calls and the whole run fails with an unhandled "Timeout calling
 * onTaskUpdate" that names no test; this line in the output says where to look (and which sync
 * child process to make asynchronous, see test/support/tools.ts).
 */
import { afterEach, beforeEach, expect } from 'vitest';

const TICK_MS = 1_000;
const REPORT_AFTER_MS = 20_000;

// Tests started since the last tick: a block is only seen once it is over, when the next test
// may already run, so every test that began within the blocked stretch is named.
let startedSinceTick: string[] = [];
beforeEach(() => {
  startedSinceTick.push(expect.getState().currentTestName ?? 'a test');
});

// Synchronous tests run back to back without a turn of the event loop, so their times add up
// against the runner's one-minute call timeout: give the loop a turn (timers, then I/O, where the
// runner's answers arrive) after every test.
afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 1));
  await new Promise((resolve) => setImmediate(resolve));
});

let last = Date.now();
setInterval(() => {
  const now = Date.now();
  const blocked = now - last - TICK_MS;
  last = now;
  const started = startedSinceTick;
  startedSinceTick = [];
  if (blocked < REPORT_AFTER_MS) return;
  const where = started.length === 0 ? 'a hook or the test that was running' : started.join(' | ');
  console.warn(`event loop blocked for ${(blocked / 1000).toFixed(0)} s in ${expect.getState().testPath ?? 'an unknown file'}: ${where}`);
}, TICK_MS).unref();
