#!/bin/sh
# Hostname host-<management MAC, lower-case hex without separators>. The MAC is "mgmt_mac" of
# the config volume's deployment.json ({"deployment": {"mgmt_mac": "aa:bb:..." | null}}) when
# given, else that of the first physical Ethernet interface by name (one with a device: no
# lo, bridge, tap or veth). Only the kernel's (transient) hostname is set: /etc is read-only.
# With neither (a machine without a NIC) the image's hostname stays: that is no reason to fail.
set -eu
DEPLOYMENT=/boot/config/deployment.json

mac=""
if [ -f "$DEPLOYMENT" ]; then
    if ! mac="$(jq -r '.deployment.mgmt_mac // empty' "$DEPLOYMENT" 2>/dev/null)"; then
        echo "setup-hostname: $DEPLOYMENT: not JSON with a \"deployment\" object: using the first NIC's MAC"
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
        echo "setup-hostname: no physical Ethernet interface and no mgmt_mac in $DEPLOYMENT: keeping hostname $(hostname)"
        exit 0
    fi
    udevadm settle --timeout=1 || true
    sleep 1
done
case "$mac" in
    [0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]) ;;
    *) echo "setup-hostname: MAC \"$mac\": expected six hex pairs separated by colons" >&2; exit 1 ;;
esac
name="host-$(echo "$mac" | tr -d ':' | tr 'A-F' 'a-f')"
echo "$name" >/proc/sys/kernel/hostname
echo "setup-hostname: hostname $name"
