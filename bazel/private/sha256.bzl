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

# Hashes every file at once (the archives are hundreds of MB; one sha256sum per core is the
# difference on a rebuild's critical path), then prints by basename in `srcs` order, so the sums
# file does not name bazel-out directories. Each job's status is checked.
_HASH_ALL = """
set -euo pipefail
out=$1; shift
sums=$(mktemp -d "${TMPDIR:-/tmp}/icos-sha256.XXXXXX")
trap 'rm -rf "$sums"' EXIT
pids=(); i=0
for f in "$@"; do sha256sum < "$f" > "$sums/$i" & pids+=($!); i=$((i + 1)); done
for pid in "${pids[@]}"; do wait "$pid"; done
i=0
for f in "$@"; do printf '%s  %s\\n' "$(cut -d' ' -f1 < "$sums/$i")" "${f##*/}"; i=$((i + 1)); done > "$out"
"""

def _icos_sha256_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.run_shell(
        inputs = ctx.files.srcs,
        outputs = [out],
        command = _HASH_ALL,
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
