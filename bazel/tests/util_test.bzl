"""Unit tests of the pure helpers in //bazel/private:util.bzl."""

load("@icos_oses//:oses.bzl", "OSES")
load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load("//bazel/private:util.bzl", "util")

def _parse_size_test_impl(ctx):
    env = unittest.begin(ctx)
    cases = {
        "4096": 4096,
        "100M": 100 * 1024 * 1024,
        "3G": 3 * 1024 * 1024 * 1024,
        "1750m": 1750 * 1024 * 1024,
        " 8K ": 8192,
        "1T": 1024 * 1024 * 1024 * 1024,
    }
    for text, expected in cases.items():
        asserts.equals(env, expected, util.parse_size(text), "parse_size(%r)" % text)
    for bad in ["", "G", "12Q", "1.5G", "-1M", "0", "3 G", "0x10", None, 3]:
        asserts.equals(env, None, util.parse_size(bad), "parse_size(%r) must not parse" % (bad,))
    return unittest.end(env)

_parse_size_test = unittest.make(_parse_size_test_impl)

def _parse_install_test_impl(ctx):
    env = unittest.begin(ctx)
    install = util.parse_install("/opt/ic/bin/replica:0755")
    asserts.equals(env, "/opt/ic/bin/replica", install.path)
    asserts.equals(env, "0755", install.mode)
    asserts.equals(env, "644", util.parse_install("/etc/x:644").mode)
    asserts.equals(env, "src/a:/opt/ic/bin/replica:0755", util.extra_spec("src/a", install))
    bad = {
        "/opt/ic/bin/replica": "expected INSTALL_PATH:MODE",
        "opt/replica:0755": "must be absolute",
        "/opt/ic/bin/:0755": "must be absolute and name a file",
        "/opt/x:0855": "octal digits only",
        "/opt/x:75": "3 or 4 octal digits",
        "/opt/x:0755:1": "expected INSTALL_PATH:MODE",
    }
    for spec, fragment in bad.items():
        result = util.parse_install(spec)
        asserts.equals(env, "string", type(result), "parse_install(%r) must be refused" % spec)
        asserts.true(env, fragment in result, "parse_install(%r): %r should mention %r" % (spec, result, fragment))
    return unittest.end(env)

_parse_install_test = unittest.make(_parse_install_test_impl)

def _check_os_test_impl(ctx):
    env = unittest.begin(ctx)
    for os in OSES:
        asserts.equals(env, None, util.check_os(os))
    listed = ", ".join(OSES)
    asserts.equals(env, "unknown OS \"windows\": expected one of %s (envs/oses.json)" % listed, util.check_os("windows"))
    asserts.equals(env, "unknown OS \"GuestOS\": expected one of %s (envs/oses.json)" % listed, util.check_os("GuestOS"))
    return unittest.end(env)

_check_os_test = unittest.make(_check_os_test_impl)

def _test_version_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, "0000000000000000000000000000000000000000-test", util.test_version("0000000000000000000000000000000000000000\n"))
    return unittest.end(env)

_test_version_test = unittest.make(_test_version_test_impl)

def util_test_suite(name):
    unittest.suite(
        name,
        _parse_size_test,
        _parse_install_test,
        _check_os_test,
        _test_version_test,
    )
