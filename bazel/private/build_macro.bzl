"""icos_build: the targets of one OS environment (IC-OS `icos_build`)."""

load(":boot_args.bzl", "icos_boot_args")
load(":container_rootfs.bzl", "icos_container_rootfs")
load(":disk.bzl", "icos_disk_image")
load(":ext4.bzl", "icos_ext4_image")
load(":ext4_inject.bzl", "icos_ext4_inject")
load(":image_deps.bzl", "image_deps")
load(":sha256.bzl", "icos_sha256")
load(":upgrade_image.bzl", "icos_upgrade_image")
load(":util.bzl", "util")
load(":verity.bzl", "icos_verity_image")
load(":version_file.bzl", "icos_version_file")
load(":vfat.bzl", "icos_vfat_image")

def icos_build(
        name,
        os,
        env,
        version_file = "//bazel:version.txt",
        rootfs = None,
        extra_files = {},
        boot_extra_files = {},
        malicious = False,
        upgrades = True,
        image_deps_overrides = {},
        tags = [],
        visibility = None):
    """Creates the image targets of one environment of an OS.

    Targets (as IC-OS names them): `version.txt`, `version-test.txt`, `rootfs-tree.tar`,
    `partition-esp.tzst` and `partition-grub.tzst` (when the OS has them), `partition-config.tzst`,
    `static-partition-root-unsigned.tzst` and `static-partition-boot.tzst` (from the tar alone, built
    once; later files are injected into copies of them), and for
    suffix "" and "-test": `partition-root{s}-unsigned.tzst` (the static root with the
    late-injected files), `partition-root{s}.tzst` (+ the file `partition-root{s}-hash` when the
    OS signs its root), `boot_args{s}` (the kernel command lines with that root hash),
    `partition-boot{s}.tzst`, `update-img{s}.tar.zst`; then `disk-img.tar.zst`, `SHA256SUMS` and
    the filegroup `name` (disk-img.tar.zst, update-img.tar.zst, SHA256SUMS). Every other target
    is tagged `manual`: `bazel build //envs/...` builds the release images through the filegroup,
    the `-test` variants only when named (upgrade tests), and `bazel test //...` leaves images alone.

    Args:
      name: the filegroup of the release artifacts (IC-OS uses the env name: "dev").
      os: "guestos", "hostos" or "setupos" (picks the partition table, sizes and container).
      env: "prod" or "dev", the container's BUILD_TYPE.
      version_file: one-line version file; the -test images get the same version + "-test".
      rootfs: a rootfs tar to use instead of the container build (examples, tests).
      extra_files: late-injected files of the root image: label -> "INSTALL_PATH:MODE", e.g.
        the replica and orchestrator binaries at /opt/ic/bin/...:0755.
      boot_extra_files: files added to the boot image: label -> "INSTALL_PATH:MODE".
      malicious: marks the images testonly (dev-malicious: a replica built to misbehave).
      upgrades: also make the -test variants (upgrade tests need a second version).
      image_deps_overrides: per-OS parameters to replace (see image_deps.bzl), e.g. smaller sizes.
      tags: added to every target.
      visibility: of the filegroup.
    """
    problem = util.check_os(os)
    if problem != None:
        fail("icos_build(name = \"%s\"): attribute os: %s" % (name, problem))
    if env not in ["prod", "dev"]:
        fail("icos_build(name = \"%s\"): attribute env: unknown environment \"%s\": expected \"prod\" or \"dev\"" % (name, env))
    deps = image_deps(os, image_deps_overrides)
    if not deps.get("partition_table"):
        fail("icos_build(name = \"%s\"): attribute image_deps_overrides: missing partition table: the OS %s has none, set \"partition_table\"" % (name, os))
    for size_key in ["rootfs_size", "bootfs_size", "esp_size", "grub_size", "config_size"]:
        if size_key in ["esp_size", "grub_size", "config_size"] and not deps.get(size_key):
            continue
        if util.parse_size(deps[size_key]) == None:
            fail("icos_build(name = \"%s\"): attribute image_deps_overrides: %s: cannot parse \"%s\": expected bytes with an optional K, M, G or T suffix" % (name, size_key, deps[size_key]))
    if deps.get("boot_args_template") and deps["verity"] == None:
        fail("icos_build(name = \"%s\"): attribute image_deps_overrides: boot_args_template \"%s\" needs the root hash, but \"verity\" is None: set both or neither" % (name, deps["boot_args_template"]))
    if deps.get("grub_files") and not deps.get("grub_size"):
        fail("icos_build(name = \"%s\"): attribute image_deps_overrides: grub_files are given but grub_size is None: the files have no grub partition to go to" % name)

    internal = {"tags": tags + ["manual"], "testonly": malicious}

    icos_version_file(name = "version.txt", src = version_file, **internal)
    icos_version_file(name = "version-test.txt", src = version_file, test = True, **internal)

    if rootfs == None:
        icos_container_rootfs(
            name = "rootfs-tree.tar",
            os = os,
            env = env,
            context_files = [deps["container_context"]],
            component_files = [deps["component_files"]],
            **internal
        )
    else:
        native.alias(name = "rootfs-tree.tar", actual = rootfs, **internal)

    partitions = {}

    # The bootloader partitions come from the container's /boot (IC-OS: esp from /boot/efi, grub
    # from /boot/grub plus the A/B grub.cfg and grubenv); they do not change with the version.
    if deps.get("esp_size"):
        icos_vfat_image(
            name = "partition-esp.tzst",
            src = ":rootfs-tree.tar",
            subdir = "/boot/efi",
            partition_size = deps["esp_size"],
            **internal
        )
        partitions[":partition-esp.tzst"] = "esp"
    if deps.get("grub_size"):
        icos_vfat_image(
            name = "partition-grub.tzst",
            src = ":rootfs-tree.tar",
            subdir = "/boot/grub",
            partition_size = deps["grub_size"],
            extra_files = deps.get("grub_files") or {},
            **internal
        )
        partitions[":partition-grub.tzst"] = "grub"
    if deps.get("config_size"):
        icos_ext4_image(name = "partition-config.tzst", partition_size = deps["config_size"], **internal)
        partitions[":partition-config.tzst"] = "config"

    # The tar-to-ext4 conversion depends only on the container output; late-injected files and
    # the version are written into copies of it (IC-OS inject_files), so changing one binary
    # costs a copy and a debugfs pass, not a new conversion.
    icos_ext4_image(
        name = "static-partition-root-unsigned.tzst",
        src = ":rootfs-tree.tar",
        partition_size = deps["rootfs_size"],
        strip_paths = deps["root_strip_paths"],
        **internal
    )

    # Likewise the boot tree: boot_args (which names the root hash) and the version are injected.
    icos_ext4_image(
        name = "static-partition-boot.tzst",
        src = ":rootfs-tree.tar",
        subdir = "/boot",
        partition_size = deps["bootfs_size"],
        **internal
    )

    releases = []
    for suffix in ([""] + (["-test"] if upgrades else [])):
        version = ":version%s.txt" % suffix
        icos_ext4_inject(
            name = "partition-root%s-unsigned.tzst" % suffix,
            base = ":static-partition-root-unsigned.tzst",
            extra_files = dict(extra_files, **{version: deps["version_path"] + ":0644"}),
            **internal
        )
        if deps["verity"] != None:
            icos_verity_image(
                name = "partition-root%s.tzst" % suffix,
                src = ":partition-root%s-unsigned.tzst" % suffix,
                hash_offset = deps["verity"]["hash_offset"],
                salt = deps["verity"]["salt"],
                uuid = deps["verity"]["uuid"],
                **internal
            )
        else:
            native.alias(name = "partition-root%s.tzst" % suffix, actual = ":partition-root%s-unsigned.tzst" % suffix, **internal)
        boot_files = dict(boot_extra_files, **{version: "/version.txt:0644"})
        if deps.get("boot_args_template"):
            # The kernel command line names the root hash, so the boot partition follows the root.
            icos_boot_args(
                name = "boot_args%s" % suffix,
                template = deps["boot_args_template"],
                root_hash = ":partition-root%s.tzst" % suffix,
                **internal
            )
            boot_files[":boot_args%s" % suffix] = "/boot_args:0644"
        icos_ext4_inject(
            name = "partition-boot%s.tzst" % suffix,
            base = ":static-partition-boot.tzst",
            extra_files = boot_files,
            **internal
        )
        icos_upgrade_image(
            name = "update-img%s.tar.zst" % suffix,
            boot_partition = ":partition-boot%s.tzst" % suffix,
            root_partition = ":partition-root%s.tzst" % suffix,
            version_file = version,
            **internal
        )
        # The -test variants exist for upgrade tests, which name them (`:update-img-test.tar.zst`);
        # `bazel build //envs/<os>/<env>/...` builds the release images only.
        if not suffix:
            releases.append(":update-img%s.tar.zst" % suffix)

    icos_disk_image(
        name = "disk-img.tar.zst",
        partition_table = deps["partition_table"],
        partitions = dict(partitions, **{
            ":partition-boot.tzst": "A_boot",
            ":partition-root.tzst": "A_root",
        }),
        expanded_size = deps["expanded_size"] or "",
        **internal
    )
    releases.insert(0, ":disk-img.tar.zst")

    icos_sha256(name = "SHA256SUMS", srcs = releases, **internal)

    native.filegroup(
        name = name,
        srcs = releases + [":SHA256SUMS"],
        tags = tags,
        testonly = malicious,
        visibility = visibility,
    )
