#!/usr/bin/env bash
# Runs one vitest file in the real workspace (the suites need root, loop devices, host tools and
# for some the Docker Engine, so the test targets are tagged local). Usage: vitest_test.sh FILE
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# package.json is a runfile; its real path is the workspace's.
manifest="$(readlink -f "${RUNFILES_DIR:-$0.runfiles}/icos/package.json")"
workspace="$(dirname "$manifest")"
cd "$workspace"
# vitest writes caches under node_modules/.vite; keep TMPDIR inside the test's scratch area.
export TMPDIR="${TEST_TMPDIR:-/tmp}"
exec node node_modules/vitest/vitest.mjs run --reporter=default "$1"
