"""icos_layout_file: a component file with its `{{layout.KEY}}` placeholders rendered."""

_DOC = """Copies `src`, replacing every `{{layout.KEY}}` by the value of KEY in `facts` (the `facts` of
`icos layout --os OS`, which icos_build passes from @icos_oses). Grub files and boot argument
templates name partition numbers and ids this way instead of repeating the tables' numbers; the
container's component files get the same treatment from `icos rootfs`. A file without
placeholders is copied unchanged.
"""

_ATTRS = {
    "src": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "The text file to render, e.g. //:components/bootloader/grub.cfg.",
    ),
    "facts": attr.string_dict(
        mandatory = True,
        doc = "Layout facts: KEY -> value, e.g. {\"partitions.A_boot.number\": \"4\"}.",
    ),
}

def _icos_layout_file_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.expand_template(
        template = ctx.file.src,
        output = out,
        substitutions = {"{{layout.%s}}" % key: value for key, value in ctx.attr.facts.items()},
    )
    return [DefaultInfo(files = depset([out]))]

icos_layout_file = rule(
    implementation = _icos_layout_file_impl,
    attrs = _ATTRS,
    doc = _DOC,
)
