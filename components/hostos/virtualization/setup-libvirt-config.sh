#!/bin/sh
# libvirtd writes under /etc/libvirt as it starts (the secrets directory, UUIDs it adds to the
# packaged nwfilter and network definitions), and fails on the read-only root. Every boot,
# /etc/libvirt of the image is copied to /run/ic-node/etc-libvirt and bind-mounted over it:
# writable, and back to the image's state at the next boot (the GuestOS domain is made at
# boot, so nothing there has to persist).
set -eu
RUNTIME=/run/ic-node/etc-libvirt

if mountpoint -q /etc/libvirt; then
    umount /etc/libvirt
fi
rm -rf "$RUNTIME"
mkdir -p "$RUNTIME"
chmod 0755 "$RUNTIME"
cp -a /etc/libvirt/. "$RUNTIME/"
mount --bind "$RUNTIME" /etc/libvirt
echo "setup-libvirt-config: /etc/libvirt is a writable copy in $RUNTIME"
