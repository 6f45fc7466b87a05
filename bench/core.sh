#!/usr/bin/env bash
# Benchmark of the image core (issue #2). Prints figures; asserts nothing about time.
#   1. icos verity vs veritysetup format: a 10 GiB image holding 1 GiB of data (goal 10x, same bytes)
#   2. icos disk for the 50 GiB GuestOS layout vs cp --sparse=always of the same data (goal <= 1.5x)
#   3. peak scratch disk used by icos disk, against the real data (goal <= 1.5x)
# Usage: bash bench/core.sh [WORKDIR]   (default: bench-out/, git-ignored; needs ~4 GiB free)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="$(realpath -m "${1:-bench-out}")"
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
icos="node $PWD/bin/icos.mjs"
GiB=$((1024 * 1024 * 1024))

seconds() { # seconds COMMAND... -> wall seconds; the command's output goes to $work/last.log
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/last.log" 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l | xargs printf '%.2f'
}
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.1f'; }
used_bytes() { df --output=used -B1 "$work" | tail -1 | tr -d ' '; }

# A sparse image of SIZE with 1 GiB of random data in 64 MiB runs spread over its first 8 GiB.
make_image() { # make_image FILE SIZE
  truncate -s "$2" "$1"
  for i in $(seq 0 15); do
    dd if=/dev/urandom of="$1" bs=1M count=64 seek=$((i * 512)) conv=notrunc status=none
  done
}

echo "== icos verity vs veritysetup format (10 GiB image, 1 GiB data)"
make_image "$work/data.img" $((10 * GiB))
salt=89bc06702975f10b41dd53e26eb9aef0adde93bc13d73e8f26b496dddefe2483
uuid=1736291d-aceb-42d7-b044-43ee31d86cd4
offset=$((10 * GiB))
sync
ours=$(seconds $icos verity --image "$work/data.img" --out "$work/ours.img" --hash-offset $offset \
  --salt $salt --uuid $uuid --root-hash-out "$work/ours.hash")
cp --sparse=always "$work/data.img" "$work/theirs.img"
sync
theirs=$(seconds veritysetup format "$work/theirs.img" "$work/theirs.img" --hash-offset=$offset --salt=$salt --uuid=$uuid)
their_hash=$(awk '/Root hash:/ {print $3}' "$work/last.log")
same=$(cmp -s "$work/ours.img" "$work/theirs.img" && echo "identical" || echo "DIFFERENT")
echo "icos verity:         ${ours} s"
echo "veritysetup format:  ${theirs} s"
echo "speed-up:            $(ratio "$theirs" "$ours")x (goal 10x)"
echo "bytes:               $same; root hash $( [ "$(cat "$work/ours.hash")" = "$their_hash" ] && echo equal || echo DIFFERENT)"
rm -f "$work"/theirs.img "$work"/ours.img "$work"/data.img

echo
echo "== icos disk (GuestOS layout, 50 GiB) vs cp --sparse=always of the same data"
make_image "$work/root.img" $((3 * GiB))
truncate -s 100M "$work/esp.img" && dd if=/dev/urandom of="$work/esp.img" bs=1M count=8 conv=notrunc status=none
truncate -s 1G "$work/boot.img" && dd if=/dev/urandom of="$work/boot.img" bs=1M count=64 conv=notrunc status=none
data_bytes=$(( (1024 + 8 + 64) * 1024 * 1024 ))
sync
mkdir -p "$work/copy"
copy=$(seconds cp --sparse=always "$work/root.img" "$work/esp.img" "$work/boot.img" "$work/copy/")
rm -rf "$work/copy"
sync
baseline=$(used_bytes)
start=$(date +%s.%N)
$icos disk --partitions partitions/guestos/partitions.csv --out "$work/disk.img" --expand 50G \
  --part esp="$work/esp.img" --part A_boot="$work/boot.img" --part A_root="$work/root.img" &
pid=$!
peak=0
while kill -0 $pid 2>/dev/null; do
  now=$(used_bytes); (( now - baseline > peak )) && peak=$((now - baseline))
  sleep 0.05
done
wait $pid
end=$(date +%s.%N)
disk=$(echo "$end - $start" | bc -l | xargs printf '%.2f')
sync
now=$(used_bytes); (( now - baseline > peak )) && peak=$((now - baseline))
echo "real data:           $((data_bytes / 1024 / 1024)) MiB in 3 partition images"
echo "cp --sparse=always:  ${copy} s"
echo "icos disk:           ${disk} s ($(ratio "$disk" "$copy")x of cp; goal <= 1.5x)"
echo "peak disk used:      $((peak / 1024 / 1024)) MiB ($(ratio "$peak" "$data_bytes")x the data; goal <= 1.5x)"
echo "disk.img allocated:  $(( $(stat -c '%b * %B' "$work/disk.img") / 1024 / 1024 )) MiB of $(( $(stat -c %s "$work/disk.img") / GiB )) GiB"
