"""icos_ext4_inject: a packed ext4 image with late-injected files written into a copy of it."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "archive_compression", "PARTITION_MEMBER", "declare_packed_output", "extra_file_specs", "packed_info")
load(":providers.bzl", "PackedImageInfo")

_DOC = """Copies the packed ext4 image `base` and writes `extra_files` into it with `icos ext4-inject`
(IC-OS `inject_files`).

The base (an icos_ext4_image of the container's tar) depends only on the container output, so
changing a late-injected binary re-runs this cheap step and those after it, never the tar-to-ext4
conversion. Missing parent directories are created 0755 0:0.
"""

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(ARCHIVE_COMPRESSION_ATTR, **{
    "base": attr.label(
        mandatory = True,
        providers = [PackedImageInfo],
        doc = "The packed ext4 image to start from (an icos_ext4_image target).",
    ),
    "extra_files": attr.label_keyed_string_dict(
        allow_files = True,
        default = {},
        doc = "Injected files: label -> \"INSTALL_PATH:MODE\" (owner 0:0), e.g. a cc_binary -> \"/opt/ic/bin/tool:0755\".",
    ),
    "file_contexts": attr.label(
        allow_single_file = True,
        doc = "SELinux file_contexts used to label the injected inodes.",
    ),
}))

def _icos_ext4_inject_impl(ctx):
    what = "icos_ext4_inject %s" % ctx.label
    out = declare_packed_output(ctx, "icos_ext4_inject")
    extra_files, extra_specs = extra_file_specs(ctx, "extra_files", what)
    base = ctx.attr.base[PackedImageInfo].archive
    options = {"artifact": ctx.label.name, "base": "unpacked:base", "extra": extra_specs}
    inputs = [base] + extra_files
    if ctx.file.file_contexts:
        options["fileContexts"] = ctx.file.file_contexts.path
        inputs.append(ctx.file.file_contexts)
    manifest = {
        "kind": "ext4-inject",
        "out": out.path,
        "options": options,
        "unpack": {"base": base.path},
        "packAs": PARTITION_MEMBER,
        "packCompression": archive_compression(ctx),
    }
    run_icos(ctx, manifest, inputs, [out], "IcosExt4Inject", "ext4 image with injected files")
    return [DefaultInfo(files = depset([out])), packed_info(out)]

icos_ext4_inject = rule(
    implementation = _icos_ext4_inject_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
