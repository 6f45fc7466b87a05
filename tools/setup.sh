#!/usr/bin/env bash
# Installs everything icos needs on Debian 12 (run as root), starts its services and makes sure
# every pinned base image exists.
# Safe to re-run: apt and npm skip what is already there, services.sh leaves running daemons alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  # image tools the icos commands call, and the independent tools the tests check bytes with
  fdisk gdisk e2fsprogs dosfstools mtools cryptsetup-bin zstd lvm2 tar attr util-linux diffutils perl curl bc
  # GRUB's own readers (grub-fstest): a test checks GRUB sees every LV of an LVM image
  grub-common
  # libvirt's client (virsh -c test:///default defines a domain without a daemon) and xmllint:
  # the guest VM's domain XML is checked by both
  libvirt-clients libxml2-utils
  # container root filesystems: engine, local registry, upstream Debian root
  docker.io docker-registry mmdebstrap
  # the second engine: a test builds a rootfs with Podman's Docker-compatible socket and compares
  podman
  # icos base export/import: registry images copied with their digests
  skopeo
  # GRUB's EFI modules: the signed loader kind's unit test assembles a loader from them
  grub-efi-amd64-bin
  # booting images: QEMU (TCG) with UEFI firmware
  qemu-system-x86 qemu-utils ovmf
  # signing: Secure Boot (sbsign, efitools' signature lists, systemd-boot enrolls keys in OVMF's
  # variables), GRUB's detached signatures (gpg), release signatures checked with minisign
  sbsigntool efitools systemd-boot-efi gnupg minisign
  # sbsign stamps the signing time into its signature: libfaketime pins it to SOURCE_DATE_EPOCH
  faketime
  # Bazel, offline, with skylib; nginx serves the local remote cache (tools/remote-cache.sh)
  bazel-bootstrap bazel-skylib nginx-light
  # node-gyp builds the SEEK_DATA addon
  python3 make g++
  # static stand-ins of the late-injected IC binaries (components/guestos/stand-ins)
  gcc libc6-dev
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

npm ci --no-audit --no-fund
bash tools/services.sh
# Pins name digests, not a registry (ICOS_REGISTRY, default the local one): a machine whose registry
# lacks a pinned image builds an untracked stand-in (minutes) and says so; tracked pins stay as they are.
# ICOS_SETUP_SKIP_BASES=1 skips this: the weekly refresh job (.github/workflows/base-refresh.yml) makes every base itself.
if [[ "${ICOS_SETUP_SKIP_BASES:-}" != 1 ]]; then node bin/icos.mjs base ensure; fi
