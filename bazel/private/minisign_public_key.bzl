"""icos_minisign_public_key: the minisign public key of an env's release.key, for its root."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":signing.bzl", "SIGNING_ATTRS", "signing_keys")

_DOC = """Writes the minisign public key file of the env's `release.key` (keys/README.md) with
`icos build` kind `minisign-public-key`: the key an OS's upgrade tool checks an upgrade image's
`MANIFEST.TXT.minisig` with. `icos_build` installs it in the root at the layout's `upgradeKeyPath`.
The same bytes as the release's `release.pub`, made apart from it: the release signature covers
the images, so taking the key from there would make the root depend on itself. The output is the
target's name. With `signing = "external"` the action reads the key directory of
`--define=ICOS_SIGNING_KEYS` and is never cached (signing.bzl); only the public half is written.
"""

def _icos_minisign_public_key_impl(ctx):
    keys = signing_keys(ctx)
    out = ctx.actions.declare_file(ctx.label.name)
    run_icos(
        ctx,
        {
            "kind": "minisign-public-key",
            "out": out.path,
            "options": {"artifact": str(ctx.label), "keys": keys.manifest},
        },
        keys.inputs,
        [out],
        "IcosMinisignPublicKey",
        "minisign public key",
        execution_requirements = keys.execution_requirements,
    )
    return [DefaultInfo(files = depset([out]))]

icos_minisign_public_key = rule(
    implementation = _icos_minisign_public_key_impl,
    attrs = dict(ICOS_TOOL_ATTR, **SIGNING_ATTRS),
    doc = _DOC,
)
