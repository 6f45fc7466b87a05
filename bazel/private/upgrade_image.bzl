"""icos_upgrade_image: update-img.tar.zst holding MANIFEST.TXT and its signature, boot.img, root.img and VERSION.TXT."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "archive_compression", "declare_packed_output")
load(":providers.bzl", "PackedImageInfo")
load(":signing.bzl", "SIGNING_ATTRS", "signing_keys")

_DOC = """Makes an IC-OS upgrade image from packed boot and root partitions (`icos build` kind
`upgrade-image`). Its MANIFEST.TXT is signed with the env's `release.key` (keys/README.md) as
`MANIFEST.TXT.minisig`: nodes install only images signed with the key their root carries
(icos_minisign_public_key). With `signing = "external"` the action reads the key directory of
`--define=ICOS_SIGNING_KEYS` and is never cached (signing.bzl)."""

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(ARCHIVE_COMPRESSION_ATTR, **dict(SIGNING_ATTRS, **{
    "boot_partition": attr.label(
        mandatory = True,
        providers = [PackedImageInfo],
        doc = "Packed boot partition, stored as boot.img.",
    ),
    "root_partition": attr.label(
        mandatory = True,
        providers = [PackedImageInfo],
        doc = "Packed root partition (verity-signed where the OS needs it), stored as root.img.",
    ),
    "os": attr.string(
        mandatory = True,
        doc = "The OS the images are of (an envs/oses.json name), written into MANIFEST.TXT: nodes refuse another OS's image.",
    ),
    "version_file": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "One-line version file, stored as VERSION.TXT.",
    ),
})))

def _icos_upgrade_image_impl(ctx):
    keys = signing_keys(ctx)
    out = declare_packed_output(ctx, "icos_upgrade_image")
    boot = ctx.attr.boot_partition[PackedImageInfo].archive
    root = ctx.attr.root_partition[PackedImageInfo].archive
    manifest = {
        "kind": "upgrade-image",
        "out": out.path,
        "options": {
            "artifact": str(ctx.label),
            "os": ctx.attr.os,
            "boot": "unpacked:boot",
            "root": "unpacked:root",
            "version": ctx.file.version_file.path,
            "compression": archive_compression(ctx),
            "keys": keys.manifest,
        },
        "unpack": {"boot": boot.path, "root": root.path},
    }
    run_icos(
        ctx,
        manifest,
        [boot, root, ctx.file.version_file] + keys.inputs,
        [out],
        "IcosUpgradeImage",
        "upgrade image",
        execution_requirements = keys.execution_requirements,
    )
    return [DefaultInfo(files = depset([out]))]

icos_upgrade_image = rule(
    implementation = _icos_upgrade_image_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
