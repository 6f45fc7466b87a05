"""icos_lvm_image: an LVM2 physical volume image from volumes.csv, packed as .tzst (HostOS)."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":packed.bzl", "ARCHIVE_COMPRESSION_ATTR", "archive_compression", "PARTITION_MEMBER", "declare_packed_output", "named_packed_images", "packed_info")
load(":providers.bzl", "PackedImageInfo")

_DOC = "Makes one VG with linear LVs from `volume_table` with `icos lvm`, filling LVs from packed images."

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(ARCHIVE_COMPRESSION_ATTR, **{
    "volume_table": attr.label(
        mandatory = True,
        allow_single_file = [".csv"],
        doc = "volumes.csv in the IC-OS format.",
    ),
    "vg_name": attr.string(
        mandatory = True,
        doc = "Volume group name, e.g. \"hostlvm\".",
    ),
    "vg_uuid": attr.string(
        mandatory = True,
        doc = "Volume group id in LVM form (6-4-4-4-4-4-6 characters).",
    ),
    "pv_uuid": attr.string(
        mandatory = True,
        doc = "Physical volume id in LVM form (6-4-4-4-4-4-6 characters).",
    ),
    "volumes": attr.label_keyed_string_dict(
        providers = [PackedImageInfo],
        default = {},
        doc = "Packed image -> LV name it is copied into; other LVs stay zero.",
    ),
}))

def _icos_lvm_image_impl(ctx):
    what = "icos_lvm_image %s" % ctx.label
    out = declare_packed_output(ctx, "icos_lvm_image")
    images, unpack, archives = named_packed_images(ctx, "volumes", what, "LV")
    inputs = [ctx.file.volume_table] + archives
    options = {
        "volumes": ctx.file.volume_table.path,
        "vgName": ctx.attr.vg_name,
        "vgUuid": ctx.attr.vg_uuid,
        "pvUuid": ctx.attr.pv_uuid,
        "images": images,
    }
    manifest = {"kind": "lvm", "out": out.path, "options": options, "unpack": unpack, "packAs": PARTITION_MEMBER, "packCompression": archive_compression(ctx)}
    run_icos(ctx, manifest, inputs, [out], "IcosLvmImage", "LVM image")
    return [DefaultInfo(files = depset([out])), packed_info(out)]

icos_lvm_image = rule(
    implementation = _icos_lvm_image_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
