import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toolAsync } from '../support/tools.ts';

/**
 * Issue 14, item 6: a script that builds in another output base must not re-point the checkout's
 * bazel-* links at it (Bazel does, on every build, unless told not to): the user's `bazel-bin`
 * would name a scratch folder that the script then deletes. Every such build line in a tracked
 * shell script carries --symlink_prefix=/ (or --experimental_convenience_symlinks=ignore).
 */

const CHECKOUT = path.resolve(import.meta.dirname, '../..');
/** `bazel [startup options] --output_base... [startup options] build|run|test|coverage`. */
const OTHER_BASE_BUILD = /\bbazel\s+(?:--\S+\s+)*--output_base[= ]\S+\s+(?:--\S+\s+)*(?:build|run|test|coverage)\b/;
const NO_LINKS = /--symlink_prefix=\/(?:\s|$)|--experimental_convenience_symlinks=ignore\b/;

describe("scripts with their own output base leave the checkout's bazel-* links alone", () => {
  it('passes --symlink_prefix=/ on every build in another output base', async () => {
    const scripts = (await toolAsync('git', ['-C', CHECKOUT, 'ls-files', '*.sh'])).split('\n').filter((name) => name !== '');
    const builds: string[] = [];
    for (const script of scripts) {
      // Continued lines joined: a flag may sit on the next one.
      const text = readFileSync(path.join(CHECKOUT, script), 'utf8').replace(/\\\n/g, ' ');
      text.split('\n').forEach((line, index) => {
        if (OTHER_BASE_BUILD.test(line)) builds.push(`${script}:${index + 1}: ${line.trim()}`);
      });
    }
    // bench/bazel.sh and bench/remote-cache.sh at least: a pattern that matches nothing checks nothing.
    expect(builds.filter((build) => build.startsWith('bench/')).length, builds.join('\n')).toBeGreaterThanOrEqual(2);
    expect(builds.filter((build) => !NO_LINKS.test(build))).toEqual([]);
  });
});
