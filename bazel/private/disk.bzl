"""icos_disk_image: a GPT disk from partitions.csv and packed partition images, as disk-img.tar.zst."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "archive_compression", "declare_packed_output", "named_packed_images")
load(":providers.bzl", "PackedImageInfo")
load(":util.bzl", "util")

_DOC = """Makes the GPT disk of `partition_table` with `icos disk` and packs it (member `disk.img`).

The raw disk (tens of GiB nominal) is never a Bazel output: Bazel would hash every byte of it.
"""

_DISK_MEMBER = "disk.img"

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(ARCHIVE_COMPRESSION_ATTR, **{
    "partition_table": attr.label(
        mandatory = True,
        allow_single_file = [".csv"],
        doc = "partitions.csv in the IC-OS format (name, start, size, type, uuid, comment).",
    ),
    "partitions": attr.label_keyed_string_dict(
        providers = [PackedImageInfo],
        default = {},
        doc = "Packed partition image -> partition name in the table, e.g. {\":partition-root.tzst\": \"A_root\"}.",
    ),
    "expanded_size": attr.string(
        doc = "Disk size: bytes or K/M/G/T suffix, e.g. \"50G\" (GuestOS); unset: just the table.",
    ),
    "populate_b": attr.bool(
        default = False,
        doc = "Fill the empty B_x slots with the A_x images (disks for tests).",
    ),
}))

def _icos_disk_image_impl(ctx):
    what = "icos_disk_image %s" % ctx.label
    out = declare_packed_output(ctx, "icos_disk_image")
    images, unpack, archives = named_packed_images(ctx, "partitions", what, "partition")
    inputs = [ctx.file.partition_table] + archives
    options = {
        "partitions": ctx.file.partition_table.path,
        "images": images,
        "populateB": ctx.attr.populate_b,
    }
    if ctx.attr.expanded_size:
        options["expandedSize"] = util.size_attr(what, "expanded_size", ctx.attr.expanded_size)
    manifest = {
        "kind": "gpt",
        "out": out.path,
        "options": options,
        "unpack": unpack,
        "packAs": _DISK_MEMBER,
        "packCompression": archive_compression(ctx),
    }
    run_icos(ctx, manifest, inputs, [out], "IcosDiskImage", "disk image")
    return [DefaultInfo(files = depset([out]))]

icos_disk_image = rule(
    implementation = _icos_disk_image_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
