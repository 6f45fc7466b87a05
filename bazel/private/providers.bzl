"""Providers of the icos rules."""

IcosToolInfo = provider(
    doc = "The bundled icos CLI and everything an action needs to run it.",
    fields = {
        "node": "File: the node executable (@icos_node//:node).",
        "bundle": "File: the CLI bundled into one ES module.",
        "addon": "File or None: the SEEK_DATA/SEEK_HOLE addon (ICOS_SPARSE_SEEK_ADDON).",
        "runtime_files": "depset of File: node_modules packages loaded at run time.",
        "node_path": "string: NODE_PATH for the action, relative to the exec root.",
    },
)

PackedImageInfo = provider(
    doc = "A partition or volume image packed as a one-member sparse tar (.tzst), as IC-OS passes them.",
    fields = {
        "archive": "File: the packed image.",
        "member": "string: the member name of the raw image inside the archive.",
    },
)
