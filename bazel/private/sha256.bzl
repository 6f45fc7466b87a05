"""icos_sha256: the SHA-256 of release artifacts, in `sha256sum` form."""

load(":util.bzl", "util")

_DOC = "Writes `<hex>  <basename>` per file of `srcs` (what `sha256sum -c` reads), like IC-OS SHA256SUMS."

_ATTRS = {
    "srcs": attr.label_list(
        mandatory = True,
        allow_files = True,
        doc = "Files to hash.",
    ),
}

def _icos_sha256_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.run_shell(
        inputs = ctx.files.srcs,
        outputs = [out],
        # Hash by path, print by basename, so the sums file does not name bazel-out directories.
        command = "out=$1; shift; for f in \"$@\"; do printf '%s  %s\\n' \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" \"${f##*/}\"; done > \"$out\"",
        arguments = [out.path] + [f.path for f in ctx.files.srcs],
        mnemonic = "IcosSha256",
        progress_message = "Hashing %s" % ctx.label,
        env = util.ACTION_ENV,
    )
    return [DefaultInfo(files = depset([out]))]

icos_sha256 = rule(
    implementation = _icos_sha256_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
