#!/usr/bin/env bash
# Starts the services icos needs, idempotently, and waits until each answers:
#   - Docker Engine (Debian's docker.io): dockerd in the background, log in $ICOS_STATE_DIR/dockerd.log
#   - the local base-image registry (Debian's docker-registry) on 127.0.0.1:5000 only
#   - when Podman is installed, its Docker-compatible socket on /run/podman/podman.sock, log in
#     $ICOS_STATE_DIR/podman.log (DOCKER_HOST=unix:///run/podman/podman.sock builds with Podman)
# No systemd here: plain background processes. Re-running is harmless.
# An engine of your own (Podman's socket, a remote dockerd) is used instead when DOCKER_HOST is set.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state_dir="${ICOS_STATE_DIR:-/var/lib/icos-services}"
registry_config="$here/registry-config.yml"
registry_addr="127.0.0.1:5000"
socket="/var/run/docker.sock"
podman_socket="/run/podman/podman.sock"
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
podman_answers() { curl -fsS --max-time 2 --unix-socket "$podman_socket" http://localhost/_ping >/dev/null 2>&1; }
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

if ! command -v podman >/dev/null; then
  : # Podman is optional: only the engine-independence test needs it (and fails in CI without it).
elif podman_answers; then
  echo "services.sh: podman already answers on $podman_socket"
else
  # Its registries.conf lets Podman pull from the plain-HTTP local registry, as Docker does for 127.0.0.1.
  mkdir -p "$(dirname "$podman_socket")"
  CONTAINERS_REGISTRIES_CONF="$here/podman-registries.conf" setsid nohup podman system service --time=0 \
    "unix://$podman_socket" >"$state_dir/podman.log" 2>&1 </dev/null &
  wait_for podman 30 podman_answers
  echo "services.sh: podman service started on $podman_socket (log: $state_dir/podman.log)"
fi
