"""Analysis-time failures of the rules: each names the attribute at fault."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//bazel/private:container_rootfs.bzl", "icos_container_rootfs")
load("//bazel/private:disk.bzl", "icos_disk_image")
load("//bazel/private:ext4.bzl", "icos_ext4_image")
load("//bazel/private:release_signature.bzl", "icos_release_signature")
load("//bazel/private:verity.bzl", "icos_verity_image")

def _failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.expected)
    return analysistest.end(env)

_failure_test = analysistest.make(
    _failure_test_impl,
    expect_failure = True,
    attrs = {"expected": attr.string(doc = "A fragment of the expected failure message.")},
)

_EXPECTED = {
    "_size": "attribute partition_size: cannot parse \"12Q\"",
    "_name": "attribute name: \"root.img\" must end in .tzst",
    "_extra": "attribute extra_files",
    "_offset": "attribute hash_offset: \"1000\" (1000 bytes) is not a multiple of 4096",
    "_expanded": "attribute expanded_size: cannot parse \"big\"",
    "_os": "attribute os: unknown OS \"windows\"",
    "_malicious_prod": "attribute signing: a dev-malicious image is never signed with external (prod) keys",
}

_UNDER_TEST = {
    "_size": ":bad_size.tzst",
    "_name": ":root.img",
    "_extra": ":bad_extra.tzst",
    "_offset": ":bad_offset.tzst",
    "_expanded": ":bad_disk.tar.zst",
    "_os": ":bad_os.tar",
    "_malicious_prod": ":malicious_prod_signature",
}

def analysis_test_suite(name):
    """Targets under test are manual: they exist only to fail."""
    manual = ["manual"]
    icos_ext4_image(name = "bad_size.tzst", partition_size = "12Q", tags = manual)
    icos_ext4_image(name = "root.img", partition_size = "1M", tags = manual)
    icos_ext4_image(
        name = "bad_extra.tzst",
        partition_size = "1M",
        extra_files = {"//bazel:version.txt": "opt/relative:0644"},
        tags = manual,
    )
    icos_ext4_image(name = "data.tzst", partition_size = "1M", tags = manual)
    icos_verity_image(name = "bad_offset.tzst", src = ":data.tzst", hash_offset = "1000", salt = "-", uuid = "1736291d-aceb-42d7-b044-43ee31d86cd4", tags = manual)
    icos_disk_image(name = "bad_disk.tar.zst", partition_table = "//:partitions/guestos/partitions.csv", expanded_size = "big", tags = manual)
    icos_container_rootfs(name = "bad_os.tar", os = "windows", env = "dev", context_files = ["//bazel:version.txt"], tags = manual)
    # What icos_build(env = "prod", malicious = True) instantiates: refused before any action.
    icos_release_signature(
        name = "malicious_prod_signature",
        srcs = ["//bazel:version.txt"],
        sums = "//bazel:version.txt",
        version_file = "//bazel:version.txt",
        os = "guestos",
        env = "prod",
        signing = "external",
        malicious = True,
        tags = manual,
    )
    for suffix, expected in _EXPECTED.items():
        _failure_test(name = name + suffix, target_under_test = _UNDER_TEST[suffix], expected = expected)
    native.test_suite(
        name = name,
        tests = [name + suffix for suffix in ["_size", "_name", "_extra", "_offset", "_expanded", "_os", "_malicious_prod"]],
    )
