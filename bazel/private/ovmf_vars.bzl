"""icos_ovmf_vars: an OVMF variable store with the test keys enrolled as PK, KEK and db."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")

_DOC = """Makes an OVMF variable store (`.fd`) with Secure Boot keys enrolled, for `icos launch
--secure-boot` and the Secure Boot tests (tools/src/kinds/ovmf-vars.ts).

efitools makes signed updates of PK, KEK and db from the certificates, and systemd-boot
(`secure-boot-enroll force`) writes them in one boot of the Secure Boot OVMF under QEMU (TCG, about
5 to 15 s). The same inputs give the same bytes (SOURCE_DATE_EPOCH is the updates' timestamp).

Test keys only: machines running prod images enrol prod's keys in their own firmware, so there is
no `signing = "external"` here. Not a release artifact. The firmware files and systemd-boot are
read from the system (packages ovmf and systemd-boot-efi, tools/setup.sh) by path: upgrading them
does not rebuild the store (`bazel clean` does).
"""

_ATTRS = dict(ICOS_TOOL_ATTR, **{
    "keys": attr.label(
        default = Label("//keys/test-keys:files"),
        allow_files = True,
        doc = "The key directory's files (one directory): pk, kek and db as `.key` and `.crt` (keys/README.md).",
    ),
    "template": attr.string(
        default = "/usr/share/OVMF/OVMF_VARS_4M.fd",
        doc = "Absolute path of the empty variable store (setup mode) the keys are enrolled into.",
    ),
    "code": attr.string(
        default = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
        doc = "Absolute path of the OVMF code with Secure Boot that runs the enrolling boot (its size must match the store's).",
    ),
    "enroller": attr.string(
        default = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
        doc = "Absolute path of systemd-boot (252 or later), the EFI program that enrols the keys.",
    ),
    "timeout_seconds": attr.int(
        default = 120,
        doc = "Seconds the enrolling boot may take before the action fails with the console's last lines.",
    ),
})

def _icos_ovmf_vars_impl(ctx):
    keys = ctx.files.keys
    dirs = {file.dirname: True for file in keys}
    if len(dirs) != 1:
        fail("%s: attribute keys: expected the files of one directory, got %s" % (ctx.label, sorted(dirs.keys())), "keys")
    for name in ["template", "code", "enroller"]:
        if not getattr(ctx.attr, name).startswith("/"):
            fail("%s: attribute %s: \"%s\" must be an absolute path" % (ctx.label, name, getattr(ctx.attr, name)), name)
    if ctx.attr.timeout_seconds <= 0:
        fail("%s: attribute timeout_seconds: must be a positive number of seconds" % ctx.label, "timeout_seconds")
    out = ctx.actions.declare_file(ctx.label.name)
    options = {
        "artifact": ctx.label.name,
        "keys": {"dir": keys[0].dirname, "external": False, "malicious": False},
        "template": ctx.attr.template,
        "code": ctx.attr.code,
        "enroller": ctx.attr.enroller,
        "timeoutSeconds": ctx.attr.timeout_seconds,
    }
    manifest = {"kind": "ovmf-vars", "out": out.path, "options": options}
    run_icos(ctx, manifest, keys, [out], "IcosOvmfVars", "enrolled OVMF variables")
    return [DefaultInfo(files = depset([out]))]

icos_ovmf_vars = rule(
    implementation = _icos_ovmf_vars_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
