#!/bin/sh
# Writes the GuestOS VM of this node from its config volume, every boot: the libvirt domain
# /run/ic-node/guestos.xml and the GuestOS config medium /run/ic-node/config.img (icos guest-vm:
# memory, CPU variant, the deterministic MAC, the GuestOS address and bootstrap files). Without a
# deployment.json there is no VM to run: say so and leave guestos.service nothing to start.
set -eu
CONFIG=/boot/config
OUT=/run/ic-node

if [ ! -f "$CONFIG/deployment.json" ]; then
    echo "generate-guestos-config: $CONFIG/deployment.json is missing: no GuestOS VM on this node"
    exit 0
fi
mkdir -p "$OUT"
nic_mac="$(/opt/ic/bin/mgmt-mac.sh)" || nic_mac=""
exec node /opt/ic/bin/icos-runtime.mjs guest-vm --vm /opt/ic/share/guestos-vm.json \
    --config-dir "$CONFIG" --out-dir "$OUT" ${nic_mac:+--nic-mac "$nic_mac"}
