#!/bin/sh
# Gives br6, the host's interface, the deterministic HostOS MAC of the IC scheme (IPv6 interface)
# from the management MAC and the deployment name, through a networkd drop-in in /run (/etc is
# read-only). Its SLAAC address then follows from the MAC, as the IC expects. Without a
# deployment.json the bridge keeps the MAC the kernel gives it.
set -eu
DEPLOYMENT=/boot/config/deployment.json
DROPIN=/run/systemd/network/10-br6.netdev.d

if [ ! -f "$DEPLOYMENT" ]; then
    echo "setup-bridge-mac: $DEPLOYMENT is missing: br6 keeps its kernel MAC"
    exit 0
fi
if ! deployment="$(jq -er '.deployment.name' "$DEPLOYMENT" 2>/dev/null)"; then
    echo "setup-bridge-mac: $DEPLOYMENT has no deployment.name: br6 keeps its kernel MAC"
    exit 0
fi
if ! mgmt_mac="$(/opt/ic/bin/mgmt-mac.sh)"; then
    echo "setup-bridge-mac: no management MAC: br6 keeps its kernel MAC"
    exit 0
fi
mac="$(node /opt/ic/bin/icos-runtime.mjs mac --mgmt-mac "$mgmt_mac" --deployment "$deployment" --node-type hostos --ip-version 6)"
mkdir -p "$DROPIN"
printf '[NetDev]\nMACAddress=%s\n' "$mac" >"$DROPIN/mac.conf"
echo "setup-bridge-mac: br6 gets MAC $mac (HostOS, IPv6, deployment $deployment)"
