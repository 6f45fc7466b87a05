"""icos_verity_image: a packed image with its dm-verity hash tree appended, and the root hash."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "archive_compression", "PARTITION_MEMBER", "declare_packed_output", "packed_info")
load(":providers.bzl", "PackedImageInfo")
load(":util.bzl", "util")

_DOC = """Adds a dm-verity superblock and hash tree at `hash_offset` with `icos verity`.

Outputs the target's name (`partition-root.tzst`) and `<name without .tzst>-hash` holding the
root hash in hex and a newline (IC-OS `partition-root-hash`).
"""

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(ARCHIVE_COMPRESSION_ATTR, **{
    "src": attr.label(
        mandatory = True,
        providers = [PackedImageInfo],
        doc = "The packed data image (an icos_ext4_image target).",
    ),
    "hash_offset": attr.string(
        mandatory = True,
        doc = "Where the hash area starts in the output: bytes or K/M/G suffix, a multiple of 4096 (GuestOS: 10603200512).",
    ),
    "salt": attr.string(
        mandatory = True,
        doc = "Salt in hex (IC-OS uses a fixed one so the root hash is reproducible), or \"-\" for none.",
    ),
    "uuid": attr.string(
        mandatory = True,
        doc = "UUID written into the verity superblock.",
    ),
}))

def _icos_verity_image_impl(ctx):
    what = "icos_verity_image %s" % ctx.label
    hash_offset = util.size_attr(what, "hash_offset", ctx.attr.hash_offset)
    if hash_offset % 4096 != 0:
        fail("%s: attribute hash_offset: \"%s\" (%d bytes) is not a multiple of 4096" % (what, ctx.attr.hash_offset, hash_offset), "hash_offset")
    out = declare_packed_output(ctx, "icos_verity_image")
    stem = ctx.label.name.rsplit(".", 1)[0]
    root_hash = ctx.actions.declare_file(stem + "-hash")
    source = ctx.attr.src[PackedImageInfo].archive
    manifest = {
        "kind": "verity",
        "out": out.path,
        "options": {"image": "unpacked:image", "hashOffset": hash_offset, "salt": ctx.attr.salt, "uuid": ctx.attr.uuid},
        "unpack": {"image": source.path},
        "packAs": PARTITION_MEMBER,
        "packCompression": archive_compression(ctx),
        "rootHashOut": root_hash.path,
    }
    run_icos(ctx, manifest, [source], [out, root_hash], "IcosVerityImage", "dm-verity image")
    return [
        DefaultInfo(files = depset([out, root_hash])),
        packed_info(out),
        OutputGroupInfo(root_hash = depset([root_hash])),
    ]

icos_verity_image = rule(
    implementation = _icos_verity_image_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
