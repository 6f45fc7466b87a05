"""icos_ext4_image: an ext4 partition image from a root filesystem tar, packed as .tzst."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "archive_compression", "PARTITION_MEMBER", "declare_packed_output", "extra_file_specs", "packed_info")
load(":util.bzl", "util")

_DOC = """Makes an ext4 image of `partition_size` from `src` (or an empty one) with `icos ext4`.

Late-injected files (`extra_files`) are added here rather than in the container, so changing one
binary re-runs this action and those after it, never the container build. The output, named
after the target (`partition-root.tzst`), holds the sparse image as its one member.
"""

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(ARCHIVE_COMPRESSION_ATTR, **{
    "src": attr.label(
        allow_single_file = [".tar"],
        doc = "Root filesystem tar (rootfs-tree.tar); unset makes an empty filesystem.",
    ),
    "partition_size": attr.string(
        mandatory = True,
        doc = "Image size: bytes or a K/M/G/T suffix (powers of 1024), e.g. \"3G\".",
    ),
    "subdir": attr.string(
        default = "/",
        doc = "Only this directory of the tar becomes the image root, e.g. \"/boot\".",
    ),
    "strip_paths": attr.string_list(
        default = [],
        doc = "Paths removed from the tree: a file, or the contents of a directory.",
    ),
    "extra_files": attr.label_keyed_string_dict(
        allow_files = True,
        default = {},
        doc = "Late-injected files: label -> \"INSTALL_PATH:MODE\" (owner 0:0), e.g. a cc_binary -> \"/opt/ic/bin/tool:0755\".",
    ),
    "file_contexts": attr.label(
        allow_single_file = True,
        doc = "SELinux file_contexts used to label every inode.",
    ),
    "fs_label": attr.string(
        doc = "Filesystem label, up to 16 bytes.",
    ),
}))

def _icos_ext4_image_impl(ctx):
    what = "icos_ext4_image %s" % ctx.label
    size = util.size_attr(what, "partition_size", ctx.attr.partition_size)
    if len(ctx.attr.fs_label) > 16:
        fail("%s: attribute fs_label: \"%s\" is %d bytes, ext4 labels are at most 16" % (what, ctx.attr.fs_label, len(ctx.attr.fs_label)), "fs_label")
    out = declare_packed_output(ctx, "icos_ext4_image")
    extra_files, extra_specs = extra_file_specs(ctx, "extra_files", what)
    options = {
        "artifact": ctx.label.name,
        "size": size,
        "subdir": ctx.attr.subdir,
        "strip": ctx.attr.strip_paths,
        "extra": extra_specs,
    }
    inputs = list(extra_files)
    if ctx.file.src:
        options["src"] = ctx.file.src.path
        inputs.append(ctx.file.src)
    if ctx.file.file_contexts:
        options["fileContexts"] = ctx.file.file_contexts.path
        inputs.append(ctx.file.file_contexts)
    if ctx.attr.fs_label:
        options["label"] = ctx.attr.fs_label
    manifest = {"kind": "ext4", "out": out.path, "options": options, "packAs": PARTITION_MEMBER, "packCompression": archive_compression(ctx)}
    run_icos(ctx, manifest, inputs, [out], "IcosExt4Image", "ext4 image")
    return [DefaultInfo(files = depset([out])), packed_info(out)]

icos_ext4_image = rule(
    implementation = _icos_ext4_image_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
