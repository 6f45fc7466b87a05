"""Pure helpers shared by the icos rules, exported as one `util` struct (unit-tested in bazel/tests)."""

load("@icos_oses//:oses.bzl", "OSES")

# Size suffixes are powers of 1024, as in IC-OS and `icos --size`.
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024}


# Environment of every sandboxed action: fixed, so cache keys are the same on every machine. The
# container step instead uses the default shell env (it needs DOCKER_HOST).
_ACTION_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "TZ": "UTC",
}

def _parse_size(text):
    """Returns the bytes of "4096", "100M" or "3G" (powers of 1024), or None when it does not parse."""
    if type(text) != "string":
        return None
    value = text.strip()
    unit = ""
    if value and value[-1].upper() in _SIZE_UNITS:
        unit = value[-1].upper()
        value = value[:-1]
    if not value or not value.isdigit():
        return None
    size = int(value) * _SIZE_UNITS[unit]
    return size if size > 0 else None

def _size_attr(rule_name, attr_name, text):
    """Returns the size in bytes of attribute `attr_name`, failing the analysis when it does not parse."""
    size = _parse_size(text)
    if size == None:
        fail("%s: attribute %s: cannot parse \"%s\": expected a positive number of bytes with an optional K, M, G or T suffix (powers of 1024)" % (rule_name, attr_name, text), attr_name)
    return size

def _check_mode(mode):
    """Returns None when `mode` is an octal file mode such as "0755", else the rule it breaks."""
    if len(mode) < 3 or len(mode) > 4:
        return "expected 3 or 4 octal digits, e.g. 0755"
    for digit in mode.elems():
        if digit not in "01234567":
            return "expected octal digits only, e.g. 0755"
    return None

def _parse_install(spec):
    """Splits "DST:MODE" into struct(path, mode), or returns a string saying what is wrong."""
    parts = spec.split(":")
    if len(parts) != 2:
        return "expected INSTALL_PATH:MODE, e.g. /opt/ic/bin/replica:0755"
    path, mode = parts
    if not path.startswith("/") or path.endswith("/"):
        return "install path \"%s\" must be absolute and name a file" % path
    problem = _check_mode(mode)
    if problem != None:
        return "mode \"%s\": %s" % (mode, problem)
    return struct(path = path, mode = mode)

def _extra_spec(source_path, install):
    """The `icos ext4 --extra` form SRC:DST:MODE of one injected file."""
    return "%s:%s:%s" % (source_path, install.path, install.mode)

def _check_os(os):
    """Returns None for an OS of envs/oses.json, else a message listing them."""
    if os in OSES:
        return None
    return "unknown OS \"%s\": expected one of %s (envs/oses.json)" % (os, ", ".join(OSES))

def _test_version(version):
    """The version string of the `-test` images: IC-OS appends `-test` so upgrade tests see a new version."""
    return version.strip() + "-test"

util = struct(
    ACTION_ENV = _ACTION_ENV,
    parse_size = _parse_size,
    size_attr = _size_attr,
    check_mode = _check_mode,
    parse_install = _parse_install,
    extra_spec = _extra_spec,
    check_os = _check_os,
    test_version = _test_version,
)
