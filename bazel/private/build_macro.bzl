"""icos_build: the targets of one OS environment, walked from the OS's resolved layout."""

load("@icos_oses//:oses.bzl", "LAYOUTS")
load(":boot_args.bzl", "icos_boot_args")
load(":container_rootfs.bzl", "icos_container_rootfs")
load(":disk.bzl", "icos_disk_image")
load(":ext4.bzl", "icos_ext4_image")
load(":ext4_inject.bzl", "icos_ext4_inject")
load(":grub_loader.bzl", "icos_grub_loader")
load(":grub_signed.bzl", "icos_grub_signed_image")
load(":layout_file.bzl", "icos_layout_file")
load(":launch.bzl", "icos_launch")
load(":lvm.bzl", "icos_lvm_image")
load(":minisign_public_key.bzl", "icos_minisign_public_key")
load(":release_signature.bzl", "icos_release_signature")
load(":sha256.bzl", "icos_sha256")
load(":upgrade_image.bzl", "icos_upgrade_image")
load(":verity.bzl", "icos_verity_image")
load(":version_file.bzl", "icos_version_file")
load(":vfat.bzl", "icos_vfat_image")

# Files under this prefix may hold `{{layout.KEY}}` placeholders and are rendered before use.
_RENDERED_PREFIX = "//:components/"

def _fail(name, attribute, message):
    fail("icos_build(name = \"%s\"): attribute %s: %s" % (name, attribute, message))

def _rendered(label, target_prefix, facts, internal):
    """`label` itself, or a rendered copy of it when it is a component file."""
    if not label.startswith(_RENDERED_PREFIX):
        return label
    name = "%s-%s" % (target_prefix, label.split("/")[-1])
    icos_layout_file(name = name, src = label, facts = facts, **internal)
    return ":" + name

def _files(fill, env, facts, internal):
    """A fill's `files` as label -> "PATH:MODE", component files rendered, `{env}` substituted."""
    files = {}
    for label, install in fill.get("files", {}).items():
        label = label.replace("{env}", env)
        files[_rendered(label, "layout-%s" % fill["name"], facts, internal)] = install
    return files

def _grub_signed(name, unsigned, files, signing, internal):
    """`name`: a copy of the packed image `unsigned` with GRUB's signature beside each of `files`."""
    icos_grub_signed_image(name = name, src = unsigned, files = files, **dict(internal, **signing))
    return ":" + name

def _fill_target(fill, env, facts, rootfs, internal, signing):
    """Instantiates the rule that fills one partition or volume; returns its label or None (empty)."""
    kind = fill["kind"]
    name = "partition-%s.tzst" % fill["name"]
    if "grubSigned" in fill:
        # The filesystem is made first, then the signatures of the files GRUB opens are added.
        name = "partition-%s-without-signatures.tzst" % fill["name"]
    if kind == "empty":
        return None
    if kind == "boot":
        return ":partition-boot.tzst"
    if kind == "root":
        return ":partition-root.tzst"
    if kind == "image":
        return fill["target"].replace("{env}", env)
    extra_files = _files(fill, env, facts, internal)
    if "loader" in fill:
        extra_files[":grub-loader.efi"] = fill["loader"] + ":0644"
    common = dict(
        name = name,
        partition_size = fill["size"],
        extra_files = extra_files,
        **internal
    )
    if "subdir" in fill:
        common["src"] = rootfs
        common["subdir"] = fill["subdir"]
    if "label" in fill:
        common["fs_label"] = fill["label"]
    if kind == "ext4":
        icos_ext4_image(**common)
    elif kind == "vfat":
        icos_vfat_image(fat32 = fill.get("fat32", False), **common)
    else:
        fail("icos_build: fill kind \"%s\" of \"%s\" is not known to the macro" % (kind, fill["name"]))
    if "grubSigned" in fill:
        return _grub_signed("partition-%s.tzst" % fill["name"], ":" + name, fill["grubSigned"], signing, internal)
    return ":" + name

def _slot_images(layout, boot_args_template, internal, suffix, version, extra_files, boot_extra_files, signing):
    """The root and boot images of one version (suffix "" or "-test") and its upgrade image."""
    root = layout["root"]
    root_files = dict(extra_files, **{version: layout["versionPath"] + ":0644"})
    if "upgradeKeyPath" in layout:
        root_files[":upgrade-key.pub"] = layout["upgradeKeyPath"] + ":0644"
    icos_ext4_inject(
        name = "partition-root%s-unsigned.tzst" % suffix,
        base = ":static-partition-root-unsigned.tzst",
        extra_files = root_files,
        **internal
    )
    if "verity" in root:
        icos_verity_image(
            name = "partition-root%s.tzst" % suffix,
            src = ":partition-root%s-unsigned.tzst" % suffix,
            hash_offset = root["verity"]["hashOffset"],
            salt = root["verity"]["salt"],
            uuid = root["verity"]["uuid"],
            **internal
        )
    else:
        native.alias(name = "partition-root%s.tzst" % suffix, actual = ":partition-root%s-unsigned.tzst" % suffix, **internal)
    boot_files = dict(boot_extra_files, **{version: "/version.txt:0644"})
    if boot_args_template != None:
        # The kernel command line names the root hash, so the boot image follows the root.
        icos_boot_args(
            name = "boot_args%s" % suffix,
            template = boot_args_template,
            root_hash = ":partition-root%s.tzst" % suffix,
            **internal
        )
        boot_files[":boot_args%s" % suffix] = "/boot_args:0644"
    boot = "partition-boot%s.tzst" % suffix
    grub_signed = layout["boot"].get("grubSigned")
    icos_ext4_inject(
        name = boot if grub_signed == None else "partition-boot%s-without-signatures.tzst" % suffix,
        base = ":static-partition-boot.tzst",
        extra_files = boot_files,
        **internal
    )
    if grub_signed != None:
        _grub_signed(boot, ":partition-boot%s-without-signatures.tzst" % suffix, grub_signed, signing, internal)
    icos_upgrade_image(
        name = "update-img%s.tar.zst" % suffix,
        # The same name the OS's components are rendered with (manageboot.conf's OS).
        os = layout["facts"]["os.name"],
        boot_partition = ":partition-boot%s.tzst" % suffix,
        root_partition = ":partition-root%s.tzst" % suffix,
        version_file = version,
        **dict(internal, **signing)
    )

def icos_build(
        name,
        os,
        env,
        layout = None,
        version_file = "//bazel:version.txt",
        rootfs = None,
        extra_files = {},
        boot_extra_files = {},
        malicious = False,
        upgrades = True,
        tags = [],
        visibility = None):
    """Creates the image targets of one environment of an OS, from the OS's layout (envs/<os>/os.json).

    The macro names no OS: it walks `icos layout`'s resolution of the OS description (from
    @icos_oses) and instantiates, per partition and volume, the rule of its fill kind.

    Targets (as IC-OS names them): `version.txt`, `version-test.txt`, `rootfs-tree.tar`; one
    `partition-<name>.tzst` per partition or volume filled with ext4, vfat or lvm (an LVM image
    holds its volumes' images); `static-partition-root-unsigned.tzst` and
    `static-partition-boot.tzst` (from the tar alone, built once; later files are injected into
    copies of them); and for suffix "" and "-test": `partition-root{s}-unsigned.tzst`,
    `partition-root{s}.tzst` (dm-verity when the layout has `root.verity`, + the root hash output
    group), `boot_args{s}` (when the layout has a boot args template), `partition-boot{s}.tzst`
    (with `-without-signatures` before it when the layout's `boot.grubSigned` asks for GRUB
    signatures, icos_grub_signed_image; likewise a fill's `partition-<name>.tzst`), `grub-loader.efi`
    (the layout has `bootloader`: icos_grub_loader, placed by a fill's `loader`),
    `update-img{s}.tar.zst` (its MANIFEST.TXT signed with the release key); `upgrade-key.pub` (the
    layout has `upgradeKeyPath`: that key's public half, installed there in both roots,
    icos_minisign_public_key); then `disk-img.tar.zst`, `SHA256SUMS`, `launch` (`bazel run` it to
    boot the disk image in QEMU, see icos_launch), `release-signature` (SHA256SUMS.minisig,
    release-manifest.json and its .minisig, release.pub: icos_release_signature; prod signs with
    `--define=ICOS_SIGNING_KEYS`) and the filegroup `name` (disk-img.tar.zst, update-img.tar.zst,
    SHA256SUMS and the release signature files). Component files a fill names
    (`//:components/...`) are rendered first (`layout-<fill>-<file>` targets, see
    icos_layout_file). Every target but the filegroup is tagged `manual`: `bazel build
    //envs/...` builds the release images through the filegroup, the `-test` variants only when
    named (upgrade tests). Every target has the visibility given, so other envs (SetupOS) can embed
    them.

    Args:
      name: the filegroup of the release artifacts (IC-OS uses the env name: "dev").
      os: an OS of envs/oses.json: its container (envs/<os>/context) and, by default, its layout.
      env: "prod" or "dev", the container's BUILD_TYPE.
      layout: a layout of @icos_oses other than the OS's own (test/build-example has one).
      version_file: one-line version file; the -test images get the same version + "-test".
      rootfs: a rootfs tar to use instead of the container build (examples, tests).
      extra_files: late-injected files of the root image: label -> "INSTALL_PATH:MODE", e.g.
        the replica and orchestrator binaries at /opt/ic/bin/...:0755.
      boot_extra_files: files added to the boot image: label -> "INSTALL_PATH:MODE".
      malicious: marks the images testonly (dev-malicious: a replica built to misbehave).
      upgrades: also make the -test variants (upgrade tests need a second version).
      tags: added to every target.
      visibility: of every target.
    """
    layout_name = layout or os
    if layout_name not in LAYOUTS:
        _fail(name, "layout" if layout else "os", "unknown OS or layout \"%s\": expected one of %s (envs/oses.json)" % (layout_name, ", ".join(sorted(LAYOUTS.keys()))))
    if env not in ["prod", "dev"]:
        _fail(name, "env", "unknown environment \"%s\": expected \"prod\" or \"dev\"" % env)
    if env == "prod" and malicious:
        _fail(name, "malicious", "a dev-malicious image is never built as prod: prod images carry prod signatures")
    # Where the signing rules find their keys (bazel/private/signing.bzl).
    signing = {"signing": "external" if env == "prod" else "test", "malicious": malicious}
    resolved = LAYOUTS[layout_name]
    facts = resolved["facts"]
    internal = {"tags": tags + ["manual"], "testonly": malicious, "visibility": visibility}
    boot_args_template = None
    if "bootArgsTemplate" in resolved["boot"]:
        boot_args_template = _rendered(resolved["boot"]["bootArgsTemplate"], "layout-boot", facts, internal)

    icos_version_file(name = "version.txt", src = version_file, **internal)
    icos_version_file(name = "version-test.txt", src = version_file, test = True, **internal)

    if rootfs == None:
        icos_container_rootfs(
            name = "rootfs-tree.tar",
            os = os,
            env = env,
            context_files = ["//:%s_container_context" % os],
            component_files = ["//:%s_component_files" % os],
            **internal
        )
    else:
        native.alias(name = "rootfs-tree.tar", actual = rootfs, **internal)

    # The tar-to-ext4 conversion depends only on the container output; late-injected files and
    # the version are written into copies of it (IC-OS inject_files), so changing one binary
    # costs a copy and a debugfs pass, not a new conversion. Likewise the boot tree.
    icos_ext4_image(
        name = "static-partition-root-unsigned.tzst",
        src = ":rootfs-tree.tar",
        partition_size = resolved["root"]["fsSize"],
        strip_paths = resolved["root"]["stripPaths"],
        **internal
    )
    icos_ext4_image(
        name = "static-partition-boot.tzst",
        src = ":rootfs-tree.tar",
        subdir = "/boot",
        partition_size = resolved["boot"]["fsSize"],
        **internal
    )

    # The signed GRUB loader (keys/README.md): prod signs with the keys named at build time
    # (--define=ICOS_SIGNING_KEYS), dev with the public test keys.
    if "bootloader" in resolved:
        icos_grub_loader(
            name = "grub-loader.efi",
            rootfs = ":rootfs-tree.tar",
            modules = _rendered(resolved["bootloader"]["grubModules"], "layout-bootloader", facts, internal),
            early_config = _rendered(resolved["bootloader"]["grubEarlyConfig"], "layout-bootloader", facts, internal),
            **dict(internal, **signing)
        )

    # The key the OS's upgrade tool checks upgrade images with: the public half of the release key.
    if "upgradeKeyPath" in resolved:
        icos_minisign_public_key(name = "upgrade-key.pub", **dict(internal, **signing))

    for suffix in ([""] + (["-test"] if upgrades else [])):
        _slot_images(resolved, boot_args_template, internal, suffix, ":version%s.txt" % suffix, extra_files, boot_extra_files, signing)

    partitions = {}
    for fill in resolved["partitions"]:
        if fill["kind"] == "lvm":
            volumes = {}
            for volume in fill["volumes"]:
                target = _fill_target(volume, env, facts, ":rootfs-tree.tar", internal, signing)
                if target != None:
                    volumes[target] = volume["name"]
            icos_lvm_image(
                name = "partition-%s.tzst" % fill["name"],
                volume_table = fill["volumeTableLabel"],
                vg_name = fill["vgName"],
                vg_uuid = fill["vgUuid"],
                pv_uuid = fill["pvUuid"],
                volumes = volumes,
                **internal
            )
            target = ":partition-%s.tzst" % fill["name"]
        else:
            target = _fill_target(fill, env, facts, ":rootfs-tree.tar", internal, signing)
        if target != None:
            partitions[target] = fill["name"]

    icos_disk_image(
        name = "disk-img.tar.zst",
        partition_table = resolved["partitionTableLabel"],
        partitions = partitions,
        expanded_size = resolved.get("diskSize", ""),
        **internal
    )

    # The -test variants exist for upgrade tests, which name them (`:update-img-test.tar.zst`);
    # `bazel build //envs/<os>/<env>/...` builds the release images only.
    releases = [":disk-img.tar.zst", ":update-img.tar.zst"]
    icos_sha256(name = "SHA256SUMS", srcs = releases, **internal)

    # Signed release manifest and minisign signatures (keys/README.md): prod signs with the keys
    # named at build time (--define=ICOS_SIGNING_KEYS), dev with the public test keys; a
    # dev-malicious image is never signed with prod's (refused at analysis).
    icos_release_signature(
        name = "release-signature",
        srcs = releases,
        sums = ":SHA256SUMS",
        version_file = ":version.txt",
        verity_images = [":partition-root.tzst"] if "verity" in resolved["root"] else [],
        os = os,
        env = env,
        signing = "external" if env == "prod" else "test",
        malicious = malicious,
        **internal
    )

    # `bazel run :launch -- [icos launch flags]` boots the disk image in QEMU.
    icos_launch(name = "launch", disk = ":disk-img.tar.zst", **internal)

    native.filegroup(
        name = name,
        srcs = releases + [":SHA256SUMS", ":release-signature"],
        tags = tags,
        testonly = malicious,
        visibility = visibility,
    )
