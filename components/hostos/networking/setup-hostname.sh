#!/bin/sh
# Hostname host-<management MAC, lower-case hex without separators> (mgmt-mac.sh: the config's
# mgmt_mac, else the first NIC's). Only the kernel's (transient) hostname is set: /etc is
# read-only. With no MAC at all (a machine without a NIC) the image's hostname stays: that is no
# reason to fail.
set -eu
if ! mac="$(/opt/ic/bin/mgmt-mac.sh)"; then
    echo "setup-hostname: keeping hostname $(hostname)"
    exit 0
fi
# deployment.json may spell it with dashes or upper case; the hostname uses lower-case hex.
case "$mac" in
    [0-9a-fA-F][0-9a-fA-F][:-][0-9a-fA-F][0-9a-fA-F][:-][0-9a-fA-F][0-9a-fA-F][:-][0-9a-fA-F][0-9a-fA-F][:-][0-9a-fA-F][0-9a-fA-F][:-][0-9a-fA-F][0-9a-fA-F]) ;;
    *) echo "setup-hostname: MAC \"$mac\": expected six hex pairs separated by colons or dashes" >&2; exit 1 ;;
esac
name="host-$(echo "$mac" | tr -d ':-' | tr 'A-F' 'a-f')"
echo "$name" >/proc/sys/kernel/hostname
echo "setup-hostname: hostname $name"
