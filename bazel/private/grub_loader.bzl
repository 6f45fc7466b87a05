"""icos_grub_loader: the Secure Boot-signed GRUB EFI loader that checks every file it opens."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":signing.bzl", "SIGNING_ATTRS", "signing_keys")

_DOC = """Makes the signed EFI loader of an image with `icos build` (kind grub-loader).

grub-mkimage assembles GRUB from the root filesystem's /usr/lib/grub/x86_64-efi with the modules of
`modules` built in, the key source's grub.pub (GRUB then refuses any file without a valid detached
signature, see icos_grub_signed_image) and `early_config`; sbsign signs it with the db key. Goes on
the ESP through a fill's `loader` (envs/<os>/os.json).
"""

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(SIGNING_ATTRS, **{
    "rootfs": attr.label(
        mandatory = True,
        allow_single_file = [".tar"],
        doc = "The root filesystem tar whose GRUB modules are used (grub-efi-amd64-bin).",
    ),
    "modules": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "The module list: one GRUB module name per line, `#` comments.",
    ),
    "early_config": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "GRUB commands built into the loader (grub-mkimage --config): find and load grub.cfg.",
    ),
}))

def _icos_grub_loader_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    keys = signing_keys(ctx)
    options = {
        "artifact": ctx.label.name,
        "rootfs": ctx.file.rootfs.path,
        "modules": ctx.file.modules.path,
        "earlyConfig": ctx.file.early_config.path,
        "keys": keys.manifest,
    }
    manifest = {"kind": "grub-loader", "out": out.path, "options": options}
    inputs = [ctx.file.rootfs, ctx.file.modules, ctx.file.early_config] + keys.inputs
    run_icos(ctx, manifest, inputs, [out], "IcosGrubLoader", "signed GRUB loader", keys.execution_requirements)
    return [DefaultInfo(files = depset([out]))]

icos_grub_loader = rule(
    implementation = _icos_grub_loader_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
