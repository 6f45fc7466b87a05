#!/bin/sh
# Prints the node's management MAC, the machine's identity for its hostname and deterministic
# MACs: "mgmt_mac" of the config volume's deployment.json ({"deployment": {"mgmt_mac": "..." |
# null}}) when given, else that of the first physical Ethernet interface by name (one with a
# device: no lo, bridge, tap or veth), waiting up to 30 s for one to appear. Exit 1 with neither.
set -eu
DEPLOYMENT=/boot/config/deployment.json

mac=""
if [ -f "$DEPLOYMENT" ]; then
    if ! mac="$(jq -r '.deployment.mgmt_mac // empty' "$DEPLOYMENT" 2>/dev/null)"; then
        echo "mgmt-mac: $DEPLOYMENT: not JSON with a \"deployment\" object: using the first NIC's MAC" >&2
        mac=""
    fi
fi
tries=0
while [ -z "$mac" ]; do
    # The glob sorts by name.
    for interface in /sys/class/net/*; do
        if [ -e "$interface/device" ] && [ "$(cat "$interface/type")" = 1 ]; then
            mac="$(cat "$interface/address")"
            break
        fi
    done
    [ -n "$mac" ] && break
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
        echo "mgmt-mac: no physical Ethernet interface and no mgmt_mac in $DEPLOYMENT" >&2
        exit 1
    fi
    udevadm settle --timeout=1 || true
    sleep 1
done
echo "$mac"
