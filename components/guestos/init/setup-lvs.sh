#!/bin/sh
# Volume group "store" on the opened store partition, its three volumes (made and formatted
# on first boot) mounted under /var/lib/ic. /var is a tmpfs, so the mount points are made here.
set -eu
PV=/dev/mapper/store-crypt
VG=store

if ! pvs "$PV" >/dev/null 2>&1; then
    pvcreate --yes "$PV"
fi
if ! vgs "$VG" >/dev/null 2>&1; then
    vgcreate --yes "$VG" "$PV"
fi
vgchange --activate y "$VG"

setup_volume() { # setup_volume NAME SIZE-OPTION MOUNT-POINT
    name="$1" size="$2" mount_point="$3"
    if ! lvs "$VG/$name" >/dev/null 2>&1; then
        lvcreate --yes --zero y --name "$name" $size "$VG"
    fi
    udevadm settle --timeout=10 || true
    device="/dev/$VG/$name"
    if [ -z "$(blkid -o value -s TYPE "$device" || true)" ]; then
        mkfs.ext4 -q -E lazy_itable_init=1,lazy_journal_init=1 -L "$name" "$device"
    fi
    mkdir -p "$mount_point"
    mountpoint -q "$mount_point" || mount -o nosuid,nodev "$device" "$mount_point"
    echo "setup-lvs: $device mounted at $mount_point"
}

setup_volume shared-crypto '--size 256M' /var/lib/ic/crypto
setup_volume shared-backup '--size 512M' /var/lib/ic/backup
setup_volume shared-data '--extents 100%FREE' /var/lib/ic/data
