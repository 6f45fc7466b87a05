"""icos_grub_signed_image: a packed partition image with GRUB's detached signatures added."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "PARTITION_MEMBER", "archive_compression", "declare_packed_output", "packed_info")
load(":providers.bzl", "PackedImageInfo")
load(":signing.bzl", "SIGNING_ATTRS", "signing_keys")

_DOC = """Copies the packed ext4 or FAT image `src` and adds `FILE.sig` (OpenPGP, the key source's
grub.key.asc) beside each of `files`, with `icos build` (kind grub-signed). The loader of
icos_grub_loader refuses every file without one.
"""

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(SIGNING_ATTRS, **dict(ARCHIVE_COMPRESSION_ATTR, **{
    "src": attr.label(
        mandatory = True,
        providers = [PackedImageInfo],
        doc = "The packed partition image (ext4 or FAT) to copy.",
    ),
    "files": attr.string_list(
        mandatory = True,
        allow_empty = False,
        doc = "Absolute paths in the image that GRUB opens, e.g. \"/grub.cfg\", \"/vmlinuz\" (a symlink is signed with its target's bytes).",
    ),
})))

def _icos_grub_signed_image_impl(ctx):
    out = declare_packed_output(ctx, "icos_grub_signed_image")
    keys = signing_keys(ctx)
    src = ctx.attr.src[PackedImageInfo].archive
    manifest = {
        "kind": "grub-signed",
        "out": out.path,
        "options": {"artifact": ctx.label.name, "image": "unpacked:image", "files": ctx.attr.files, "keys": keys.manifest},
        "unpack": {"image": src.path},
        "packAs": PARTITION_MEMBER,
        "packCompression": archive_compression(ctx),
    }
    run_icos(ctx, manifest, [src] + keys.inputs, [out], "IcosGrubSigned", "GRUB-signed image", keys.execution_requirements)
    return [DefaultInfo(files = depset([out])), packed_info(out)]

icos_grub_signed_image = rule(
    implementation = _icos_grub_signed_image_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
