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
        # Removed from the root image: /boot has its own partition, /run is a tmpfs.
        "root_strip_paths": ["/run", "/boot"],
        "version_path": "/opt/ic/share/version.txt",
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
