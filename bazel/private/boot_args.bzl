"""icos_boot_args: the kernel command lines of a boot partition, with the dm-verity root hash."""

load(":util.bzl", "util")

_DOC = """Renders `template` with every `ROOT_HASH` replaced by the root hash of `root_hash`
(IC-OS `guestos_boot_args.template` -> `boot_args`, a sed of ROOT_HASH).

The output, named after the target, goes into the boot partition (`/boot_args`), where grub.cfg
sources it: the initramfs then opens the root through dm-verity with `root_hash=`.
"""

_ATTRS = {
    "template": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "Shell-style assignments (BOOT_ARGS_A=\"... root_hash=ROOT_HASH\"), e.g. components/bootloader/guestos_boot_args.template.",
    ),
    "root_hash": attr.label(
        mandatory = True,
        allow_files = True,
        doc = "The root hash: an icos_verity_image target (its `root_hash` output group) or a file holding 64 hex digits and a newline.",
    ),
}

def _root_hash_file(ctx, what):
    target = ctx.attr.root_hash
    if OutputGroupInfo in target and hasattr(target[OutputGroupInfo], "root_hash"):
        files = target[OutputGroupInfo].root_hash.to_list()
    else:
        files = target.files.to_list()
    if len(files) != 1:
        fail("%s: attribute root_hash: %s gives %d files, expected one root hash file" % (what, target.label, len(files)), "root_hash")
    return files[0]

def _icos_boot_args_impl(ctx):
    what = "icos_boot_args %s" % ctx.label
    root_hash = _root_hash_file(ctx, what)
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.run_shell(
        inputs = [ctx.file.template, root_hash],
        outputs = [out],
        # The hash is checked before it reaches sed: a malformed one would boot a kernel that
        # cannot open its root, far from this build.
        command = """set -eu
hash="$(head -n 1 "$2")"
case "$hash" in
  *[!0-9a-f]*|"") echo "$4: attribute root_hash: $2: \\"$hash\\": expected 64 lowercase hex digits" >&2; exit 1 ;;
esac
if [ "${#hash}" -ne 64 ]; then
  echo "$4: attribute root_hash: $2: \\"$hash\\" has ${#hash} digits, expected 64" >&2; exit 1
fi
if ! grep -q ROOT_HASH "$1"; then
  echo "$4: attribute template: $1 has no ROOT_HASH to replace" >&2; exit 1
fi
sed "s/ROOT_HASH/$hash/g" "$1" > "$3"
""",
        arguments = [ctx.file.template.path, root_hash.path, out.path, what],
        mnemonic = "IcosBootArgs",
        progress_message = "Writing boot arguments %s" % ctx.label,
        env = util.ACTION_ENV,
    )
    return [DefaultInfo(files = depset([out]))]

icos_boot_args = rule(
    implementation = _icos_boot_args_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
