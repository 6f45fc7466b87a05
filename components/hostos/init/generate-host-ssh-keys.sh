#!/bin/sh
# The image is the same for every node, so it carries no host keys. On first boot they are made
# on the config volume (which upgrades keep); every boot, /etc/ssh of the image plus those
# keys is assembled in /run/ssh and bind-mounted over the read-only /etc/ssh.
set -eu
KEYS=/boot/config/ssh

if [ ! -s "$KEYS/ssh_host_ed25519_key" ] || [ ! -s "$KEYS/ssh_host_ecdsa_key" ]; then
    echo "generate-host-ssh-keys: first boot: making host keys in $KEYS"
    rm -rf "$KEYS.new"
    mkdir -m 0755 "$KEYS.new"
    ssh-keygen -q -t ed25519 -N '' -C '' -f "$KEYS.new/ssh_host_ed25519_key"
    ssh-keygen -q -t ecdsa -b 256 -N '' -C '' -f "$KEYS.new/ssh_host_ecdsa_key"
    rm -rf "$KEYS"
    mv "$KEYS.new" "$KEYS"
    sync
fi

if mountpoint -q /etc/ssh; then
    umount /etc/ssh
fi
rm -rf /run/ssh
mkdir -m 0755 /run/ssh
cp -a /etc/ssh/. /run/ssh/
cp -a "$KEYS/." /run/ssh/
mount --bind /run/ssh /etc/ssh
echo "generate-host-ssh-keys: host keys from $KEYS in /etc/ssh"
