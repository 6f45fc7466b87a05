"""Per-OS image parameters (IC-OS `image_deps`): tables, sizes, signing, container inputs."""

# dm-verity parameters of the GuestOS root (IC-OS verity_sign.py): the hash tree sits at
# 10 GiB - 128 MiB inside the 10 GiB root partition, past the 3G ext4.
_GUESTOS_VERITY = {
    "hash_offset": "10603200512",
    "salt": "89bc06702975f10b41dd53e26eb9aef0adde93bc13d73e8f26b496dddefe2483",
    "uuid": "1736291d-aceb-42d7-b044-43ee31d86cd4",
}

_IMAGE_DEPS = {
    "guestos": {
        "partition_table": "//:partitions/guestos/partitions.csv",
        "rootfs_size": "3G",
        "bootfs_size": "1G",
        "expanded_size": "50G",
        "config_size": "100M",
        "verity": _GUESTOS_VERITY,
        "container_context": "//:guestos_container_context",
        "component_files": "//:guestos_component_files",
        # Removed from the root image: /boot and /var have their own partitions, /run and /tmp
        # are tmpfs at run time.
        "root_strip_paths": ["/boot", "/var", "/run", "/tmp"],
        "version_path": "/opt/ic/share/version.txt",
        # The EFI system partition: /boot/efi of the container (shim and grub for UEFI).
        "esp_size": "100M",
        # The grub partition: /boot/grub of the container plus the A/B grub.cfg and its grubenv.
        "grub_size": "100M",
        "grub_files": {
            "//:components/bootloader/grub.cfg": "/grub.cfg:0644",
            "//:components/bootloader/grubenv": "/grubenv:0644",
        },
        # Rendered with the root hash into /boot_args of the boot partition (needs "verity").
        "boot_args_template": "//:components/bootloader/guestos_boot_args.template",
    },
    "hostos": {
        "partition_table": "//:partitions/hostos/partitions.csv",
        "rootfs_size": "3G",
        "bootfs_size": "100M",
        "expanded_size": None,
        "config_size": None,
        "verity": None,
        "container_context": "//:hostos_container_context",
        "component_files": "//:hostos_component_files",
        "root_strip_paths": ["/run", "/boot"],
        "version_path": "/opt/ic/share/version.txt",
        "esp_size": None,
        "grub_size": None,
        "grub_files": {},
        "boot_args_template": None,
    },
    "setupos": {
        "partition_table": "//:partitions/setupos/partitions.csv",
        "rootfs_size": "1750M",
        "bootfs_size": "100M",
        "expanded_size": None,
        "config_size": None,
        "verity": None,
        "container_context": "//:setupos_container_context",
        "component_files": "//:setupos_component_files",
        "root_strip_paths": ["/run", "/boot"],
        "version_path": "/opt/ic/share/version.txt",
        "esp_size": None,
        "grub_size": None,
        "grub_files": {},
        "boot_args_template": None,
    },
}

def image_deps(os, overrides = {}):
    """The parameters of `os` with `overrides` applied; None when the OS is unknown."""
    if os not in _IMAGE_DEPS:
        return None
    deps = dict(_IMAGE_DEPS[os])
    for key, value in overrides.items():
        if key not in deps:
            fail("icos_build: attribute image_deps: unknown key \"%s\": expected one of %s" % (key, ", ".join(sorted(deps.keys()))))
        deps[key] = value
    return deps
