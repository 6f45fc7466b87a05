"""Helpers of the rules that read and write packed images (one-member sparse tars, .tzst)."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load(":providers.bzl", "PackedImageInfo")
load(":util.bzl", "util")

# Member name of the raw image inside a packed partition, as in IC-OS.
PARTITION_MEMBER = "partition.img"

_PACKED_SUFFIXES = [".tzst", ".tar.zst", ".tar"]

# Private attribute of every rule that writes a packed image: reads //bazel:archive_compression.
# Partition images between actions are compressed like the published archives on purpose: the
# disk and upgrade steps then copy their zstd frames instead of compressing them again.
ARCHIVE_COMPRESSION_ATTR = {
    "_archive_compression": attr.label(
        default = Label("//bazel:archive_compression"),
        doc = "Build setting: `release` (zstd -8 --long=24 frames) or `fast` (zstd -1 frames) for every packed image.",
    ),
}

def archive_compression(ctx):
    """The manifest's packCompression under the current build setting."""
    return "zstd" if ctx.attr._archive_compression[BuildSettingInfo].value == "release" else "zstd-fast"

def declare_packed_output(ctx, what):
    """Declares the rule's output, named after the target, which must end in .tzst, .tar.zst or .tar."""
    name = ctx.label.name
    for suffix in _PACKED_SUFFIXES:
        if name.endswith(suffix):
            return ctx.actions.declare_file(name)
    fail("%s %s: attribute name: \"%s\" must end in %s (the output is named after the target)" % (what, ctx.label, name, ", ".join(_PACKED_SUFFIXES)), "name")

def packed_info(archive):
    return PackedImageInfo(archive = archive, member = PARTITION_MEMBER)

def named_packed_images(ctx, attr_name, what, noun):
    """Images of a label -> name attribute for an icos manifest: (images, unpack, archives).

    `images` maps each name to "unpacked:<key>", `unpack` maps <key> to the archive to unpack, so
    the tool sees raw images; an empty or repeated name fails the analysis, naming the attribute.
    """
    images = {}
    unpack = {}
    archives = []
    for index, (target, name) in enumerate(getattr(ctx.attr, attr_name).items()):
        if not name:
            fail("%s: attribute %s: %s has an empty %s name" % (what, attr_name, target.label, noun), attr_name)
        if name in images:
            fail("%s: attribute %s: %s \"%s\" is given two images" % (what, attr_name, noun, name), attr_name)
        archive = target[PackedImageInfo].archive
        key = "i%d" % index
        unpack[key] = archive.path
        images[name] = "unpacked:" + key
        archives.append(archive)
    return images, unpack, archives

def single_file(target, attr_name, what):
    """The one file of `target`, failing the analysis (naming `attr_name`) when it has none or several."""
    files = target.files.to_list()
    if len(files) != 1:
        fail("%s: attribute %s: %s gives %d files, expected exactly one" % (what, attr_name, target.label, len(files)), attr_name)
    return files[0]

def extra_file_specs(ctx, attr_name, what):
    """Files of a label -> "INSTALL_PATH:MODE" attribute: (list of File, list of SRC:DST:MODE)."""
    files = []
    specs = []
    seen = {}
    for target, install_spec in getattr(ctx.attr, attr_name).items():
        install = _parse_or_fail(install_spec, target, attr_name, what)
        if install.path in seen:
            fail("%s: attribute %s: install path %s is given to both %s and %s" % (what, attr_name, install.path, seen[install.path], target.label), attr_name)
        seen[install.path] = target.label
        source = single_file(target, attr_name, what)
        files.append(source)
        specs.append(util.extra_spec(source.path, install))
    return files, specs

def _parse_or_fail(install_spec, target, attr_name, what):
    install = util.parse_install(install_spec)
    if type(install) == "string":
        fail("%s: attribute %s: %s -> \"%s\": %s" % (what, attr_name, target.label, install_spec, install), attr_name)
    return install
