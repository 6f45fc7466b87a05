"""icos_tool: groups a bundle, node, the native addon and run-time packages into IcosToolInfo."""

load(":providers.bzl", "IcosToolInfo")

_DOC = "The icos CLI as the image rules run it: `node BUNDLE build --manifest F.json`."

_ATTRS = {
    "bundle": attr.label(
        allow_single_file = [".mjs"],
        mandatory = True,
        doc = "The bundled CLI (an icos_bundle target).",
    ),
    "addon": attr.label(
        allow_single_file = [".node"],
        doc = "The SEEK_DATA/SEEK_HOLE addon (a cc_binary with linkshared); without it holes are read as data.",
    ),
    "node": attr.label(
        default = Label("@icos_node//:node"),
        allow_single_file = True,
        doc = "The node executable.",
    ),
    "runtime_modules": attr.label(
        default = Label("@icos_node//:runtime_modules"),
        doc = "node_modules packages the bundle loads at run time (NODE_PATH).",
    ),
}

def _node_path(files):
    for file in files:
        index = file.path.find("/node_modules/")
        if index >= 0:
            return file.path[:index + len("/node_modules")]
    fail("icos_tool: runtime_modules holds no node_modules files", "runtime_modules")

def _icos_tool_impl(ctx):
    runtime = ctx.files.runtime_modules
    info = IcosToolInfo(
        node = ctx.file.node,
        bundle = ctx.file.bundle,
        addon = ctx.file.addon,
        runtime_files = depset([ctx.file.node] + runtime),
        node_path = _node_path(runtime),
    )
    return [info, DefaultInfo(files = depset([ctx.file.bundle]))]

icos_tool = rule(
    implementation = _icos_tool_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
