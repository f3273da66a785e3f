"""Native addons: `.node` files are shared objects that Node loads with dlopen.

A `require('./build/Release/x.node')` resolves like any module and the ELF tracer follows the
file's libraries. Packages rarely write that path, though: they ask a loader to find their
addon at run time, in a layout of its own (`bindings`: build/Release, build/Debug, out/...,
compiled/VERSION/PLATFORM/ARCH; `node-gyp-build`: prebuilds/PLATFORM-ARCH/*.node, then build/;
`node-pre-gyp`: the `binary.module_path` of package.json). When a module of a package requires
one of these loaders, every `.node` file of that package built for the runtime's machine is kept.
"""

from __future__ import annotations

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS

ADDON_LOADERS = frozenset({
    "bindings", "node-gyp-build", "node-gyp-build-optional-packages", "@mapbox/node-pre-gyp", "node-pre-gyp",
    "@discordjs/node-pre-gyp", "prebuild-install", "pkg-prebuilds", "node-addon-loader",
})
_ELF_MACHINE_OFFSET = 18


def is_addon_loader(specifier: str) -> bool:
    name = "/".join(specifier.split("/")[:2]) if specifier.startswith("@") else specifier.split("/")[0]
    return name in ADDON_LOADERS


def elf_machine(fs: RootFS, entry: Entry) -> int | None:
    """e_machine of an ELF file (None when it is not one)."""
    head = fs.read(entry, 20) if entry.size >= 20 else b""
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[_ELF_MACHINE_OFFSET:_ELF_MACHINE_OFFSET + 2], "little" if head[5] == 1 else "big")


def addon_files(fs: RootFS, package_root: str, machine: int | None) -> list[str]:
    """The `.node` files under a package (not in nested packages) built for `machine` (any when None)."""
    found = []
    for entry in fs.walk(package_root):
        if entry.type is not EntryType.FILE or not entry.path.endswith(".node"):
            continue
        if "/node_modules/" in entry.path[len(package_root):]:
            continue
        if machine is None or elf_machine(fs, entry) == machine:
            found.append(entry.path)
    return found
