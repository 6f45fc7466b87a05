#!/usr/bin/env bash
# Bazel benchmark of issue 4, in one run and a fresh output base (so "cold" is cold):
#   1. cold build of the env (container step included)
#   2. rebuild after changing one late-injected binary (the orchestrator stand-in, a cc_binary)
#   3. rebuild with nothing changed
# Usage: bench/bazel.sh [TARGET_PATTERN] [extra bazel build flags...]
#   e.g. bench/bazel.sh //envs/guestos/dev/... --config=fast   (the engineer's loop)
#        bench/bazel.sh //envs/guestos/dev/... --config=remote-cache
# Goals: rebuild < 20% of cold and < 30 s, container step not re-run; no-op < 3 s.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pattern="${1:-//envs/guestos/dev/...}"
shift || true
cd "$repo"
output_base="$(mktemp -d "${TMPDIR:-/tmp}/icos-bench-output-base.XXXXXX")"
# The binary to change: injected into every GuestOS env's root (and the example env's hello).
if [[ "$pattern" == //test/build-example* ]]; then binary_source="test/build-example/hello/hello.c"
else binary_source="components/guestos/stand-ins/orchestrator.c"; fi
binary_backup="$output_base.source.c"
cp "$binary_source" "$binary_backup"

cleanup() {
  cp "$binary_backup" "$binary_source" && rm -f "$binary_backup"
  bazel --output_base="$output_base" shutdown >/dev/null 2>&1 || true
  rm -rf "$output_base"
}
trap cleanup EXIT

now() { date +%s.%N; }
# build LOG_NAME: runs the build, records the spawns it executed in an execution log.
# --symlink_prefix=/: the checkout's bazel-* links keep naming the user's own output base.
build() {
  local log="$output_base/$1"
  shift
  bazel --output_base="$output_base" build --symlink_prefix=/ "$pattern" "$@" --execution_log_json_file="$log.json" >"$log.out" 2>&1 ||
    { tail -n 30 "$log.out" >&2; echo "bench: build failed (log: $log.out)" >&2; exit 1; }
}
# Mnemonics of the spawns a build ran (or fetched from a remote cache), counted.
spawns() { grep -o '"mnemonic": "[A-Za-z0-9]*"' "$output_base/$1.json" | cut -d'"' -f4 | sort | uniq -c | tr '\n' ' '; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

start="$(now)"; build cold "$@"; cold="$(elapsed "$start" "$(now)")"
echo "cold build:              ${cold} s   spawns: $(spawns cold)"

# A string the linker keeps: the binary's bytes change (a comment would not change them).
echo "__attribute__((used)) static const char icos_bench_marker[] = \"bench $(date +%s%N)\";" >>"$binary_source"
start="$(now)"; build binary "$@"; binary="$(elapsed "$start" "$(now)")"
echo "rebuild, one binary:     ${binary} s   spawns: $(spawns binary)"
if grep -q '"mnemonic": "IcosContainerRootfs"' "$output_base/binary.json"; then
  echo "bench: FAIL: the container step ran again after a binary change" >&2
  exit 1
fi

start="$(now)"; build noop "$@"; noop="$(elapsed "$start" "$(now)")"
echo "rebuild, nothing changed: ${noop} s   spawns: $(spawns noop)"
awk -v c="$cold" -v b="$binary" 'BEGIN { printf "binary rebuild / cold:   %.0f%%\n", 100 * b / c }'
