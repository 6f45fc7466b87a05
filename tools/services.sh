#!/usr/bin/env bash
# Starts the services icos needs, idempotently, and waits until each answers:
#   - Docker Engine (Debian's docker.io): dockerd in the background, log in $ICOS_STATE_DIR/dockerd.log
#   - the local base-image registry (Debian's docker-registry) on 127.0.0.1:5000 only
# No systemd here: plain background processes. Re-running is harmless.
# An engine of your own (Podman's socket, a remote dockerd) is used instead when DOCKER_HOST is set.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state_dir="${ICOS_STATE_DIR:-/var/lib/icos-services}"
registry_config="$here/registry-config.yml"
registry_addr="127.0.0.1:5000"
socket="/var/run/docker.sock"
mkdir -p "$state_dir" /var/lib/icos-registry

wait_for() { # wait_for NAME SECONDS COMMAND...
  local name="$1" seconds="$2"
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "services.sh: $name did not answer within ${seconds}s (log: $state_dir/$name.log)" >&2
  tail -n 20 "$state_dir/$name.log" >&2 || true
  return 1
}

engine_answers() { curl -fsS --max-time 2 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1; }
registry_answers() { curl -fsS --max-time 2 "http://$registry_addr/v2/" >/dev/null 2>&1; }

if [[ -n "${DOCKER_HOST:-}" ]]; then
  echo "services.sh: DOCKER_HOST=$DOCKER_HOST is set: using that engine, not starting dockerd"
elif engine_answers; then
  echo "services.sh: dockerd already answers on $socket"
else
  command -v dockerd >/dev/null || { echo "services.sh: dockerd not found: apt-get install docker.io" >&2; exit 1; }
  # No bridge network or iptables rules: builds use the host network (see dockerode-container-engine.ts),
  # which works on machines without netfilter too.
  setsid nohup dockerd --host "unix://$socket" --bridge=none --iptables=false --ip6tables=false \
    >"$state_dir/dockerd.log" 2>&1 </dev/null &
  wait_for dockerd 60 engine_answers
  echo "services.sh: dockerd started (log: $state_dir/dockerd.log)"
fi

if registry_answers; then
  echo "services.sh: registry already answers on $registry_addr"
else
  command -v docker-registry >/dev/null || { echo "services.sh: docker-registry not found: apt-get install docker-registry" >&2; exit 1; }
  setsid nohup docker-registry serve "$registry_config" >"$state_dir/registry.log" 2>&1 </dev/null &
  wait_for registry 30 registry_answers
  echo "services.sh: registry started on $registry_addr (storage /var/lib/icos-registry)"
fi
