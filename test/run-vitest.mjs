#!/usr/bin/env node
// Runs the vitest suites and ends with one plain `N passed, N failed, N skipped` line, which CI
// reads; the exit status is vitest's.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

mkdirSync('out', { recursive: true });
const report = 'out/vitest-report.json';
const result = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
try {
  const { numPassedTests, numFailedTests, numPendingTests, numTodoTests, testResults } = JSON.parse(readFileSync(report, 'utf8'));
  // A file whose hooks or imports fail has no failed test, only skipped ones: count it as a failure.
  const failedOutsideTests = testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  const files = failedOutsideTests === 0 ? '' : ` (${failedOutsideTests} of them a test file that failed outside its tests)`;
  console.log(`\ntests: ${numPassedTests} passed, ${numFailedTests + failedOutsideTests} failed${files}, ${numPendingTests + numTodoTests} skipped`);
} catch {
  console.log('\ntests: 0 passed, 1 failed (vitest wrote no report)');
}
process.exit(result.status ?? 1);
