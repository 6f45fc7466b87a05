"""icos_bundle: the TypeScript CLI bundled into one ES module by esbuild (no manual pre-build step)."""

load(":util.bzl", "util")

_DOC = """Bundles tools/src into one `.mjs` with esbuild, run by the host node.

Editing any file in `srcs` re-runs this action; actions using the bundle re-run only when its
bytes change, and `commands` keeps a bundle to the verbs an action needs.
"""

_ATTRS = {
    "srcs": attr.label_list(
        allow_files = [".ts", ".json"],
        mandatory = True,
        doc = "TypeScript sources of the CLI (tools/src, tests excluded) and tsconfig.json/package.json.",
    ),
    "commands": attr.string_list(
        default = [],
        doc = "Verbs kept in the bundle (file names under tools/src/cli/commands); empty keeps every verb.",
    ),
    "standalone": attr.bool(
        default = False,
        doc = "Bundle every package and target Node 18: a bundle that runs on an IC node (HostOS), not the build host.",
    ),
    "_node": attr.label(
        default = Label("@icos_node//:node"),
        allow_single_file = True,
        cfg = "exec",
        doc = "The host node that runs esbuild.",
    ),
    "_esbuild": attr.label(
        default = Label("@icos_node//:esbuild"),
        cfg = "exec",
        doc = "esbuild and its platform binary, from node_modules.",
    ),
    "_modules": attr.label(
        default = Label("@icos_node//:bundle_modules"),
        doc = "The packages the bundle may import.",
    ),
    "_script": attr.label(
        default = Label("//bazel/node:bundle.mjs"),
        allow_single_file = True,
        doc = "The esbuild driver.",
    ),
}

def _package_dir(files, package):
    """The directory of `package` in node_modules, from any file of that package."""
    marker = "/node_modules/%s/package.json" % package
    for file in files:
        if file.path.endswith(marker):
            return file.path[:-len("/package.json")]
    fail("icos_bundle: no %s in @icos_node: run `npm ci`" % marker)

def _icos_bundle_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".mjs")
    esbuild_files = ctx.files._esbuild
    args = ctx.actions.args()
    args.add(ctx.file._script)
    args.add("--out", out)
    args.add("--esbuild", _package_dir(esbuild_files, "esbuild"))
    if ctx.attr.commands:
        args.add_joined("--commands", ctx.attr.commands, join_with = ",")
    if ctx.attr.standalone:
        args.add("--standalone")
    ctx.actions.run(
        executable = ctx.file._node,
        arguments = [args],
        inputs = depset(ctx.files.srcs + [ctx.file._script] + esbuild_files, transitive = [depset(ctx.files._modules)]),
        outputs = [out],
        env = util.ACTION_ENV,
        mnemonic = "IcosBundle",
        progress_message = "Bundling the icos CLI %s" % ctx.label,
    )
    return [DefaultInfo(files = depset([out]))]

icos_bundle = rule(
    implementation = _icos_bundle_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
