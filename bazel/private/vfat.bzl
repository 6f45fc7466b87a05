"""icos_vfat_image: a FAT partition image from a root filesystem tar, packed as .tzst."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "archive_compression", "PARTITION_MEMBER", "declare_packed_output", "extra_file_specs", "packed_info")
load(":util.bzl", "util")

_DOC = "Makes a FAT12/16 (or FAT32) image of `partition_size` with `icos vfat` (ESP, config partitions)."

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(ARCHIVE_COMPRESSION_ATTR, **{
    "src": attr.label(
        allow_single_file = [".tar"],
        doc = "Root filesystem tar (files and directories only); unset makes an empty filesystem.",
    ),
    "partition_size": attr.string(
        mandatory = True,
        doc = "Image size: bytes or a K/M/G/T suffix (powers of 1024), e.g. \"100M\".",
    ),
    "subdir": attr.string(
        default = "/",
        doc = "Only this directory of the tar becomes the image root, e.g. \"/boot/efi\".",
    ),
    "extra_files": attr.label_keyed_string_dict(
        allow_files = True,
        default = {},
        doc = "Files added: label -> \"INSTALL_PATH:MODE\" (the mode is checked, FAT has none).",
    ),
    "fat32": attr.bool(
        default = False,
        doc = "Make FAT32 instead of the FAT12/16 chosen by size.",
    ),
    "fs_label": attr.string(
        doc = "Volume label: 1 to 11 of A-Z, 0-9, _ and -, e.g. \"CONFIG\".",
    ),
}))

def _icos_vfat_image_impl(ctx):
    what = "icos_vfat_image %s" % ctx.label
    size = util.size_attr(what, "partition_size", ctx.attr.partition_size)
    out = declare_packed_output(ctx, "icos_vfat_image")
    extra_files, extra_specs = extra_file_specs(ctx, "extra_files", what)
    options = {
        "artifact": ctx.label.name,
        "size": size,
        "subdir": ctx.attr.subdir,
        "extra": extra_specs,
        "fat32": ctx.attr.fat32,
    }
    inputs = list(extra_files)
    if ctx.file.src:
        options["src"] = ctx.file.src.path
        inputs.append(ctx.file.src)
    if ctx.attr.fs_label:
        options["label"] = ctx.attr.fs_label
    manifest = {"kind": "vfat", "out": out.path, "options": options, "packAs": PARTITION_MEMBER, "packCompression": archive_compression(ctx)}
    run_icos(ctx, manifest, inputs, [out], "IcosVfatImage", "FAT image")
    return [DefaultInfo(files = depset([out])), packed_info(out)]

icos_vfat_image = rule(
    implementation = _icos_vfat_image_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
