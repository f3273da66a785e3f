"""Finding a module on `sys.path` as CPython's PathFinder and FileFinder do.

In each directory of the search path (sys.path for top-level names, the parent package's
`__path__` for submodules): a folder `NAME` holding `__init__` with a known suffix is a package;
else the first of `NAME` + extension suffixes, `.py`, `.pyc` that is a file is a module; a
folder without `__init__` is one portion of a namespace package, used only when no directory
of the search path has a package or module of that name.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import Enum

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import RootFS, SymlinkLoopError


class ModuleKind(str, Enum):
    SOURCE = "source"
    BYTECODE = "bytecode"  # a .pyc without its source
    EXTENSION = "extension"
    NAMESPACE = "namespace"


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    kind: ModuleKind
    origin: str | None  # the file the import system loads (None for namespace packages)
    locations: tuple[str, ...]  # __path__ of a package, () for a plain module

    @property
    def is_package(self) -> bool:
        return bool(self.locations)


class ModuleFinder:
    """Module lookups in one search path; directory listings and results are cached."""

    def __init__(self, fs: RootFS, sys_path: list[str], extension_suffixes: tuple[str, ...]) -> None:
        self.fs = fs
        self.sys_path = sys_path
        self.suffixes: tuple[tuple[str, ModuleKind], ...] = (
            *((suffix, ModuleKind.EXTENSION) for suffix in extension_suffixes),
            (".py", ModuleKind.SOURCE), (".pyc", ModuleKind.BYTECODE))
        self._listings: dict[str, dict[str, EntryType]] = {}
        self._found: dict[str, ModuleSpec | None] = {}
        # module name -> files the search stats on its way (a file named like the module in an
        # earlier directory, such as the `flask` console script when bin/ is on sys.path)
        self.probed: dict[str, list[str]] = {}

    def find(self, name: str) -> ModuleSpec | None:
        """The spec of a dotted module name (its parents are found on the way), None if missing."""
        if name in self._found:
            return self._found[name]
        parent_name, _, tail = name.rpartition(".")
        if parent_name:
            parent = self.find(parent_name)
            spec = self._find_in(name, tail, parent.locations) if parent and parent.is_package else None
        else:
            spec = self._find_in(name, tail, tuple(self.sys_path))
        self._found[name] = spec
        return spec

    def chain(self, name: str) -> list[ModuleSpec]:
        """The specs importing `name` executes: each parent package, then the module."""
        parts = name.split(".")
        found = []
        for end in range(1, len(parts) + 1):
            spec = self.find(".".join(parts[:end]))
            if spec is None:
                break
            found.append(spec)
        return found

    def listing(self, directory: str) -> dict[str, EntryType]:
        """Names in a directory with what they lead to (symlinks followed)."""
        listing = self._listings.get(directory)
        if listing is None:
            listing = {}
            try:
                real = self.fs.resolve(directory).path
            except SymlinkLoopError:
                real = directory
            for name in self.fs.listdir(real):
                try:
                    entry = self.fs.lookup(posixpath.join(real, name))
                except SymlinkLoopError:
                    continue
                if entry is not None:
                    listing[name] = entry.type
            self._listings[directory] = listing
        return listing

    def _find_in(self, name: str, tail: str, locations: tuple[str, ...]) -> ModuleSpec | None:
        portions: list[str] = []
        for location in locations:
            listing = self.listing(location)
            if not listing:
                continue
            if listing.get(tail) is EntryType.FILE:
                self.probed.setdefault(name, []).append(posixpath.join(location, tail))
            if listing.get(tail) is EntryType.DIR:
                package = posixpath.join(location, tail)
                inside = self.listing(package)
                for suffix, kind in self.suffixes:
                    if inside.get("__init__" + suffix) is EntryType.FILE:
                        return ModuleSpec(name, kind, posixpath.join(package, "__init__" + suffix), (package,))
                portions.append(package)
            for suffix, kind in self.suffixes:
                if listing.get(tail + suffix) is EntryType.FILE:
                    return ModuleSpec(name, kind, posixpath.join(location, tail + suffix), ())
        if portions:
            return ModuleSpec(name, ModuleKind.NAMESPACE, None, tuple(portions))
        return None

    def submodule_names(self, package: ModuleSpec) -> list[str]:
        """Names of the modules and packages directly inside a package's folders."""
        names: set[str] = set()
        for location in package.locations:
            for name, kind in self.listing(location).items():
                if kind is EntryType.DIR and name.isidentifier():
                    names.add(name)
                    continue
                for suffix, _ in self.suffixes:
                    if name.endswith(suffix) and name[: -len(suffix)].isidentifier():
                        names.add(name[: -len(suffix)])
                        break
        names.discard("__init__")
        return sorted(names)
