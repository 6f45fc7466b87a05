"""icos_container_rootfs: the OS container build exported as rootfs-tree.tar (`icos rootfs`)."""

load(":providers.bzl", "IcosToolInfo")
load(":util.bzl", "util")

_DOC = """Builds envs/<os>/context/Dockerfile on the pinned base image and exports rootfs-tree.tar.

Needs the Docker Engine (DOCKER_HOST is passed through, see .bazelrc) and the local registry, so
the action runs outside the sandbox, needs the network (the Debian archive), and never goes to a
remote cache: another machine's engine and archive snapshot are not an input Bazel can see. It
stays in the local cache, so a rebuild with the same inputs does not run it again.
"""

# no-sandbox: the engine socket; requires-network: apt inside the build; no-remote-cache: the
# result depends on the engine and the archive, which are not declared inputs.
CONTAINER_EXECUTION_REQUIREMENTS = {
    "no-sandbox": "1",
    "no-remote-cache": "1",
    "requires-network": "1",
    "supports-graceful-termination": "1",
}

_ATTRS = {
    "os": attr.string(
        mandatory = True,
        doc = "Operating system, e.g. \"guestos\" (envs/<os>/context holds the Dockerfile).",
    ),
    "env": attr.string(
        mandatory = True,
        values = ["prod", "dev"],
        doc = "Build environment passed as BUILD_TYPE: \"prod\" or \"dev\".",
    ),
    "context_files": attr.label_list(
        allow_files = True,
        mandatory = True,
        doc = "The build context (Dockerfile, package lists, base pins): declared so a change re-runs the build.",
    ),
    "component_files": attr.label_list(
        allow_files = True,
        default = [],
        doc = "Component files and their manifest (components/<os>.json) copied into the context.",
    ),
    "_icos": attr.label(
        default = Label("//:icos_rootfs_tool"),
        cfg = "exec",
        providers = [IcosToolInfo],
        doc = "The icos CLI narrowed to the rootfs verb.",
    ),
}

def _icos_container_rootfs_impl(ctx):
    problem = util.check_os(ctx.attr.os)
    if problem != None:
        fail("icos_container_rootfs %s: attribute os: %s" % (ctx.label, problem), "os")
    out = ctx.actions.declare_file(ctx.label.name)
    if not out.basename.endswith(".tar"):
        fail("icos_container_rootfs %s: attribute name: \"%s\" must end in .tar" % (ctx.label, ctx.label.name), "name")
    tool = ctx.attr._icos[IcosToolInfo]
    ctx.actions.run(
        executable = tool.node,
        arguments = [tool.bundle.path, "rootfs", "--os", ctx.attr.os, "--env", ctx.attr.env, "--out", out.path],
        inputs = depset(ctx.files.context_files + ctx.files.component_files + [tool.bundle], transitive = [tool.runtime_files]),
        outputs = [out],
        # The default shell env carries DOCKER_HOST (--action_env in .bazelrc) and the fixed PATH.
        use_default_shell_env = True,
        mnemonic = "IcosContainerRootfs",
        progress_message = "Building the %s %s container root filesystem %s" % (ctx.attr.os, ctx.attr.env, ctx.label),
        execution_requirements = CONTAINER_EXECUTION_REQUIREMENTS,
    )
    return [DefaultInfo(files = depset([out]))]

icos_container_rootfs = rule(
    implementation = _icos_container_rootfs_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
