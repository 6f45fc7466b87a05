#!/bin/sh
# The store partition (10) is not in the image: on first boot it is created in the space the
# disk gained when it was expanded to 50G (after B_var), LUKS2-formatted with a random key
# kept on the config partition. Every boot opens it as /dev/mapper/store-crypt.
set -eu
KEY_FILE=/boot/config/store.keyfile
STORE=/dev/disk/by-partlabel/store
# First sector after B_var (partitions/guestos/partitions.csv: 67725312 + 20971520).
STORE_START={{layout.disk.endSector}}
A_ROOT=/dev/disk/by-partuuid/{{layout.partitions.A_root.uuid}}

wait_for() {
    tries=0
    while [ ! -b "$1" ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 30 ] || { echo "setup-data-encryption: $1 did not appear" >&2; exit 1; }
        udevadm settle --timeout=1 || true
        sleep 1
    done
}

wait_for "$A_ROOT"
disk="/dev/$(lsblk -ndo PKNAME "$(readlink -f "$A_ROOT")")"
if [ ! -e "$STORE" ]; then
    echo "setup-data-encryption: first boot: adding the store partition to $disk at sector $STORE_START"
    # The disk is in use (root, boot, config), so the kernel learns of the new partition
    # through partx rather than a full re-read.
    echo "start=$STORE_START, type=L, name=store" | sfdisk --quiet --append --no-reread --no-tell-kernel "$disk"
    partx --add --nr {{layout.disk.nextPartitionNumber}} "$disk"
fi
wait_for "$STORE"

if [ ! -s "$KEY_FILE" ]; then
    (umask 077 && head -c 64 /dev/urandom >"$KEY_FILE.new" && mv "$KEY_FILE.new" "$KEY_FILE")
fi
if ! cryptsetup isLuks "$STORE"; then
    echo "setup-data-encryption: formatting $STORE as LUKS2"
    # A random 64-byte key needs no slow key derivation (and TCG test VMs would crawl through one).
    cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --key-file "$KEY_FILE" "$STORE"
fi
if [ ! -b /dev/mapper/store-crypt ]; then
    cryptsetup open --key-file "$KEY_FILE" "$STORE" store-crypt
fi
echo "setup-data-encryption: $STORE open as /dev/mapper/store-crypt"
