"""icos_version_file: version.txt, or its `-test` variant for upgrade tests."""

load(":util.bzl", "util")

_DOC = """Copies a one-line version file, appending `-test` when `test` is set (IC-OS `version-test.txt`:
upgrade tests need an image whose version differs from the one under test)."""

_ATTRS = {
    "src": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "One-line version file (a git commit or a label such as 0000000000000000000000000000000000000000).",
    ),
    "test": attr.bool(
        default = False,
        doc = "Append \"-test\" to the version.",
    ),
}

def _icos_version_file_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    suffix = "-test" if ctx.attr.test else ""
    ctx.actions.run_shell(
        inputs = [ctx.file.src],
        outputs = [out],
        # One line only; icos upgrade-image checks its form.
        command = "printf '%%s%s\\n' \"$(head -n 1 \"$1\")\" > \"$2\"" % suffix,
        arguments = [ctx.file.src.path, out.path],
        mnemonic = "IcosVersionFile",
        progress_message = "Writing version file %s" % ctx.label,
        env = util.ACTION_ENV,
    )
    return [DefaultInfo(files = depset([out]))]

icos_version_file = rule(
    implementation = _icos_version_file_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
