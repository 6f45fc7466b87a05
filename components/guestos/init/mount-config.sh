#!/bin/sh
# Finds the config device and mounts it read-only at /mnt/config. Looked for in this order: a
# USB disk, a disk whose serial is "config" (QEMU: -drive ...,serial=config), a file system
# labelled CONFIG. Devices appear asynchronously, so it polls for up to 60 seconds.
set -eu
MOUNT_POINT=/mnt/config

find_config_device() {
    for pattern in '/dev/disk/by-id/usb-*-part1' '/dev/disk/by-id/usb-*' \
        '/dev/disk/by-id/virtio-config-part1' '/dev/disk/by-id/virtio-config' \
        '/dev/disk/by-id/*-config-part1' '/dev/disk/by-id/*-config' '/dev/disk/by-label/CONFIG'; do
        for candidate in $pattern; do
            if [ -b "$candidate" ]; then
                echo "$candidate"
                return 0
            fi
        done
    done
    return 1
}

if mountpoint -q "$MOUNT_POINT"; then
    echo "mount-config: $MOUNT_POINT is already mounted"
    exit 0
fi
tries=0
until device="$(find_config_device)"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "mount-config: no config device (USB, serial \"config\" or label CONFIG) after 60 seconds" >&2
        exit 1
    fi
    udevadm settle --timeout=1 || true
    sleep 1
done
mount -o ro,nosuid,nodev,noexec "$device" "$MOUNT_POINT"
echo "mount-config: mounted $device ($(readlink -f "$device")) at $MOUNT_POINT"
