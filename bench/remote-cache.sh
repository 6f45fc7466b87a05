#!/usr/bin/env bash
# Remote cache check of issue 4: one output base fills the local nginx cache, a second, empty output
# base builds the same targets from it. Prints how many cacheable spawns were remote cache hits and
# whether every output file has the same sha256 in both output bases.
# Usage: bench/remote-cache.sh [TARGET_PATTERN] [extra bazel build flags...]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pattern="${1:-//envs/guestos/dev/...}"
shift || true
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/icos-remote-cache.XXXXXX")"
cleanup() {
  for base in first second; do bazel --output_base="$work/$base" shutdown >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

bash tools/remote-cache.sh clear >/dev/null
bash tools/remote-cache.sh >/dev/null

# build BASE: builds the pattern with the remote cache, logging every spawn. --symlink_prefix=/:
# the checkout's bazel-* links keep naming the user's own output base.
build() {
  local base="$1"
  shift
  bazel --output_base="$work/$base" build --symlink_prefix=/ --config=remote-cache "$pattern" "$@" --execution_log_json_file="$work/$base.json" \
    >"$work/$base.out" 2>&1 || { tail -n 30 "$work/$base.out" >&2; echo "remote-cache: build in $base failed" >&2; exit 1; }
}
# sha256 of every regular file the pattern's packages produced, by path under bazel-bin.
output_sums() {
  local bin
  bin="$(bazel --output_base="$work/$1" info --config=remote-cache bazel-bin 2>/dev/null)"
  (cd "$bin" && find . -type f ! -name '*.json' ! -path '*/_*' ! -name '*.runfiles_manifest' -print0 | sort -z | xargs -0 sha256sum)
}
build first "$@"
build second "$@"

# Spawns of the second build: remote hits, and executed ones with their mnemonics.
node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8");
  const spawns = JSON.parse("[" + text.replace(/}\s*{/g, "},{") + "]");
  const hits = spawns.filter((s) => s.remoteCacheHit);
  const ran = spawns.filter((s) => !s.remoteCacheHit);
  // proto3 JSON leaves false booleans out: a spawn is cacheable remotely only when both are true.
  // The log does not show the no-remote-cache tag (it leaves both true), so the container step,
  // which has it (bazel/private/container_rootfs.bzl), is named here.
  const localOnly = new Set(["IcosContainerRootfs"]);
  const cacheable = spawns.filter((s) => s.remotable === true && s.cacheable === true && !localOnly.has(s.mnemonic));
  const missed = ran.filter((s) => cacheable.includes(s));
  console.log(`second output base: ${spawns.length} spawns, ${hits.length} remote cache hits`);
  console.log(`executed: ${ran.map((s) => s.mnemonic).join(", ") || "none"}`);
  console.log(`cacheable spawns that missed the cache: ${missed.length} of ${cacheable.length}`);
' "$work/second.json"
output_sums first >"$work/first.sums"
output_sums second >"$work/second.sums"
if cmp -s "$work/first.sums" "$work/second.sums"; then
  echo "outputs: identical ($(wc -l <"$work/first.sums") files, same sha256)"
else
  echo "outputs: DIFFERENT"; diff "$work/first.sums" "$work/second.sums" | head -20
  exit 1
fi
