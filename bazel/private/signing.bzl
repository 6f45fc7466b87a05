"""Where signing actions find their keys (keys/README.md): the public test keys, or prod's directory."""

# Attributes of every rule that signs.
SIGNING_ATTRS = {
    "signing": attr.string(
        default = "test",
        values = ["test", "external"],
        doc = "\"test\": keys/test-keys (public test keys, dev images). \"external\": the directory of " +
              "`--define=ICOS_SIGNING_KEYS=/abs/dir`, read when the action runs; the action is never " +
              "cached on disk or remotely and runs unsandboxed to reach the directory (prod).",
    ),
    "malicious": attr.bool(
        default = False,
        doc = "The image is dev-malicious: signing = \"external\" is refused (analysis and action).",
    ),
    "_test_keys": attr.label(
        default = Label("//keys/test-keys:files"),
        allow_files = True,
        doc = "The public test keys.",
    ),
}

# External keys never reach a cache, and the action reads them from outside the sandbox.
_EXTERNAL_REQUIREMENTS = {"no-cache": "1", "no-remote": "1", "no-sandbox": "1"}

def signing_keys(ctx):
    """The key source of a signing action.

    Returns:
      struct(manifest = the manifest's "keys" option, inputs = files to add to the action,
      execution_requirements = dict for ctx.actions.run).
    """
    if ctx.attr.signing == "test":
        files = ctx.files._test_keys
        return struct(
            manifest = {"dir": files[0].dirname, "external": False, "malicious": ctx.attr.malicious},
            inputs = files,
            execution_requirements = {},
        )
    if ctx.attr.malicious:
        fail("%s: attribute signing: a dev-malicious image is never signed with external (prod) keys" % ctx.label)
    return struct(
        # Only the path enters the action key; the tool checks it and names what is missing.
        manifest = {"dir": ctx.var.get("ICOS_SIGNING_KEYS", ""), "external": True, "malicious": False},
        inputs = [],
        execution_requirements = _EXTERNAL_REQUIREMENTS,
    )
