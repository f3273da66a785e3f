"""What one simulated program start produces: the objects in the process (glibc's link_map
chain) and every path it opens, each with the reason and the requester."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.rootfs.entry import Entry
from slimmer.trace.elf.reader import ElfInfo

# categories of tree items: what the loader itself opens ...
LOADER_CATEGORIES = frozenset({"interp", "needed", "preload"})
# ... and what is kept for other reasons (extras), of which these are files libc reads, not loads
READ_CATEGORIES = frozenset({"data", "nss-data"})


@dataclass
class TreeItem:
    """One path the program start needs, and why."""

    path: str  # as the loader (or libc) opens it: directory + name, symlinks unresolved
    reason: str
    # interp, needed, preload, hwcaps, ldconf, nss, nss-data, gconv, libgcc_s, dlopen-name, dlopen-known, data
    category: str
    requester: str | None  # the object whose load (or code) caused it
    optional: bool = False


@dataclass
class LoadedObject:
    """One object mapped into the process, as ld.so's link_map knows it."""

    path: str  # l_name: the path it was opened at
    real: str
    entry: Entry
    info: ElfInfo
    loader: LoadedObject | None  # l_loader: the object that caused it to be loaded
    origin: str | None  # what $ORIGIN expands to for its own RPATH/RUNPATH
    kind: str  # main, interp, needed, preload, dlopen
    names: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        """Its soname, else its file name: what the tables of extras.py match."""
        return self.info.soname or posixpath.basename(self.path)


@dataclass
class LoadTree:
    """Everything one program start opens, as computed from the image's own files."""

    root: str
    description: str
    libc: str | None
    items: list[TreeItem] = field(default_factory=list)
    objects: list[LoadedObject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rtld_referenced: bool = False  # some DT_NEEDED named the loader itself (glibc lists it then)

    def loader_paths(self) -> list[str]:
        """What `ld.so --list` prints: the initial load (glibc leaves the interpreter out when no
        object names it, though the kernel still maps it for an executable)."""
        return [i.path for i in self.items if i.category in LOADER_CATEGORIES
                and (i.category != "interp" or self.rtld_referenced)]
