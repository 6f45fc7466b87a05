"""Runs `icos build --manifest` as a Bazel action: the one way the image rules call our tool."""

load(":providers.bzl", "IcosToolInfo")
load(":util.bzl", "util")

# The private attribute every image rule carries: the icos CLI built for the exec platform.
ICOS_TOOL_ATTR = {
    "_icos": attr.label(
        default = Label("//:icos_images_tool"),
        cfg = "exec",
        providers = [IcosToolInfo],
        doc = "The icos CLI (bundle, node, addon) that runs the action.",
    ),
}

def icos_env(tool):
    """The fixed action environment plus what the bundled CLI needs to find its run-time parts."""
    env = dict(util.ACTION_ENV)
    env["NODE_PATH"] = tool.node_path
    if tool.addon != None:
        env["ICOS_SPARSE_SEEK_ADDON"] = tool.addon.path
    return env

def tool_inputs(tool):
    """The files of the tool itself, as a depset."""
    direct = [tool.bundle] + ([tool.addon] if tool.addon != None else [])
    return depset(direct, transitive = [tool.runtime_files])

def run_icos(ctx, manifest, inputs, outputs, mnemonic, what, execution_requirements = {}):
    """Writes `manifest` (a dict) as JSON and runs `icos build --manifest` on it.

    Args:
      ctx: the rule context (needs the `_icos` attribute).
      manifest: dict with kind, out, options and optionally unpack, packAs, rootHashOut.
      inputs: list of File read by the action.
      outputs: list of File written by the action.
      mnemonic: CamelCase action name.
      what: words for the progress message, e.g. "ext4 image".
      execution_requirements: added to the action's (signing with external keys: no-cache...).
    """
    tool = ctx.attr._icos[IcosToolInfo]
    manifest_file = ctx.actions.declare_file(ctx.label.name + ".manifest.json")
    ctx.actions.write(manifest_file, json.encode_indent(manifest, indent = "  ") + "\n")
    ctx.actions.run(
        executable = tool.node,
        arguments = [tool.bundle.path, "build", "--manifest", manifest_file.path],
        inputs = depset([manifest_file] + inputs, transitive = [tool_inputs(tool)]),
        outputs = outputs,
        env = icos_env(tool),
        mnemonic = mnemonic,
        progress_message = "Building %s %s" % (what, ctx.label),
        execution_requirements = dict({"supports-graceful-termination": ""}, **execution_requirements),
    )
