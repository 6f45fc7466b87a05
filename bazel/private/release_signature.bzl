"""icos_release_signature: the signed release manifest of an env and minisign signatures."""

load(":icos_action.bzl", "ICOS_TOOL_ATTR", "run_icos")
load(":signing.bzl", "SIGNING_ATTRS", "signing_keys")

_DOC = """Signs an env's release (`icos build` kind `release-signature`, keys/README.md `release.key`).

Outputs, named as the release folder has them (so one target per package): `SHA256SUMS.minisig`
(what `minisign -Vm SHA256SUMS -p release.pub` checks), `release-manifest.json` (version, OS,
env, each release file's sha256 and size, the verity root hashes; sorted keys),
`release-manifest.json.minisig` and `release.pub` (the minisign public key of the key used).
`icos verify DIR --key release.pub` checks them all. With `signing = "external"` the action
reads the key directory of `--define=ICOS_SIGNING_KEYS` and is never cached (signing.bzl).
"""

_ATTRS = dict(ICOS_TOOL_ATTR, **dict(SIGNING_ATTRS, **{
    "srcs": attr.label_list(
        mandatory = True,
        allow_files = True,
        doc = "The release files `sums` lists (disk-img.tar.zst, update-img.tar.zst); their base names are their release names.",
    ),
    "sums": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "The `SHA256SUMS` of `srcs` (an icos_sha256 target); every entry is checked against the files.",
    ),
    "version_file": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "One-line version file: the manifest's `version`.",
    ),
    "verity_images": attr.label_list(
        default = [],
        providers = [OutputGroupInfo],
        doc = "icos_verity_image targets: each one's `root_hash` output group becomes the manifest's " +
              "`verityRootHashes` entry named after the target (partition-root.tzst).",
    ),
    "os": attr.string(
        mandatory = True,
        doc = "The OS, as the manifest and the signatures' trusted comments name it.",
    ),
    "env": attr.string(
        mandatory = True,
        doc = "The environment (prod, dev), as the manifest names it.",
    ),
}))

def _icos_release_signature_impl(ctx):
    keys = signing_keys(ctx)
    sums_signature = ctx.actions.declare_file("SHA256SUMS.minisig")
    manifest = ctx.actions.declare_file("release-manifest.json")
    manifest_signature = ctx.actions.declare_file("release-manifest.json.minisig")
    public_key = ctx.actions.declare_file("release.pub")
    root_hashes = {}
    for image in ctx.attr.verity_images:
        hashes = getattr(image[OutputGroupInfo], "root_hash", depset()).to_list()
        if len(hashes) != 1:
            fail("%s: attribute verity_images: %s has no root_hash output group (not an icos_verity_image)" % (ctx.label, image.label), "verity_images")
        root_hashes[image.label.name] = hashes[0]
    run_icos(
        ctx,
        {
            "kind": "release-signature",
            "out": sums_signature.path,
            "outs": {"manifest": manifest.path, "manifestSignature": manifest_signature.path, "publicKey": public_key.path},
            "options": {
                "artifact": str(ctx.label),
                "os": ctx.attr.os,
                "env": ctx.attr.env,
                "version": ctx.file.version_file.path,
                "files": [f.path for f in ctx.files.srcs],
                "sums": ctx.file.sums.path,
                "rootHashes": {name: f.path for name, f in root_hashes.items()},
                "keys": keys.manifest,
            },
        },
        ctx.files.srcs + [ctx.file.sums, ctx.file.version_file] + root_hashes.values() + keys.inputs,
        [sums_signature, manifest, manifest_signature, public_key],
        "IcosReleaseSignature",
        "release signatures",
        execution_requirements = keys.execution_requirements,
    )
    return [DefaultInfo(files = depset([sums_signature, manifest, manifest_signature, public_key]))]

icos_release_signature = rule(
    implementation = _icos_release_signature_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
