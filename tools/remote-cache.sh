#!/usr/bin/env bash
# Starts (or stops) a local Bazel HTTP remote cache: Debian's nginx (apt-get install nginx-light)
# with WebDAV PUT, listening on 127.0.0.1:${ICOS_CACHE_PORT:-9092} (the port .bazelrc's
# --config=remote-cache uses). Idempotent.
#   tools/remote-cache.sh          start, wait until it answers
#   tools/remote-cache.sh stop     stop it (the stored entries stay in the cache directory)
#   tools/remote-cache.sh clear    stop it and delete the stored entries
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${ICOS_CACHE_PORT:-9092}"
cache_dir="${ICOS_CACHE_DIR:-/var/cache/icos-bazel-cache}"
state_dir="${ICOS_STATE_DIR:-/var/lib/icos-services}/remote-cache"
config="$state_dir/nginx.conf"

stop() {
  if [[ -f "$state_dir/nginx.pid" ]] && kill -0 "$(cat "$state_dir/nginx.pid")" 2>/dev/null; then
    nginx -c "$config" -s quit
    for ((i = 0; i < 50; i++)); do [[ -f "$state_dir/nginx.pid" ]] || break; sleep 0.1; done
  fi
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  clear) stop; rm -rf "$cache_dir"; echo "remote-cache.sh: cleared $cache_dir"; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|clear]" >&2; exit 2 ;;
esac

command -v nginx >/dev/null || { echo "remote-cache.sh: nginx not found: apt-get install nginx-light" >&2; exit 1; }
mkdir -p "$cache_dir" "$state_dir/client-body"
chown www-data: "$cache_dir" "$state_dir/client-body"
sed -e "s|@CACHE_DIR@|$cache_dir|g" -e "s|@PORT@|$port|g" -e "s|@STATE_DIR@|$state_dir|g" \
  "$here/remote-cache.nginx.conf" >"$config"
answers() { curl -fs --max-time 2 -o /dev/null -X PUT --data-binary ping "http://127.0.0.1:$port/ping"; }
if answers; then
  echo "remote-cache.sh: already answering on http://127.0.0.1:$port"
  exit 0
fi
nginx -t -c "$config" 2>"$state_dir/config-check.log" || { cat "$state_dir/config-check.log" >&2; exit 1; }
nginx -c "$config"
for ((i = 0; i < 50; i++)); do
  if answers; then
    echo "remote-cache.sh: serving $cache_dir on http://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.2
done
echo "remote-cache.sh: nginx did not answer on 127.0.0.1:$port (log: $state_dir/error.log)" >&2
exit 1
