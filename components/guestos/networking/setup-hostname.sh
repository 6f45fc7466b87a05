#!/bin/sh
# Hostname replica-<management MAC, lower-case hex without separators>. The MAC is mgmt_mac= of
# the config device's network.conf when given, else that of the first physical Ethernet
# interface. Only the kernel's (transient) hostname is set: /etc is read-only.
set -eu
CONFIG=/mnt/config/network.conf

mac=""
if [ -f "$CONFIG" ]; then
    mac="$(sed -n 's/^mgmt_mac=//p' "$CONFIG" | head -n 1)"
fi
tries=0
while [ -z "$mac" ]; do
    for interface in /sys/class/net/*; do
        if [ -e "$interface/device" ] && [ "$(cat "$interface/type")" = 1 ]; then
            mac="$(cat "$interface/address")"
            break
        fi
    done
    [ -n "$mac" ] && break
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || { echo "setup-hostname: no Ethernet interface and no mgmt_mac in $CONFIG" >&2; exit 1; }
    sleep 1
done
case "$mac" in
    [0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]) ;;
    *) echo "setup-hostname: MAC \"$mac\": expected six hex pairs separated by colons" >&2; exit 1 ;;
esac
name="replica-$(echo "$mac" | tr -d ':' | tr 'A-F' 'a-f')"
echo "$name" >/proc/sys/kernel/hostname
echo "setup-hostname: hostname $name"
