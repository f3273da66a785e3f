"""What one simulated program start produces: the objects in the process (glibc's link_map
chain) and every path it opens, each with the reason and the requester."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from enum import Enum

from slimmer.rootfs.entry import Entry
from slimmer.trace.elf.arch import Libc
from slimmer.trace.elf.reader import ElfInfo


class Category(str, Enum):
    """Why a path is in a load tree: what the loader itself opens, or what it and libc need besides."""

    INTERP = "interp"  # PT_INTERP
    NEEDED = "needed"  # DT_NEEDED, recursively
    PRELOAD = "preload"  # LD_PRELOAD, /etc/ld.so.preload
    HWCAPS = "hwcaps"  # a variant the loader picks on some CPUs
    LDCONF = "ldconf"  # what ld.so.cache would point to once ldconfig runs
    NSS = "nss"  # an NSS module libc dlopens
    NSS_DATA = "nss-data"  # nsswitch.conf and the files of its services
    LIBGCC_S = "libgcc_s"  # glibc's unwinder
    DLOPEN_NAME = "dlopen-name"  # a library named by a string of an importer of dlopen
    DATA = "data"  # a file the loader or libc reads (ld.so.cache, ld.so.preload, gai.conf)


# what `ld.so --list` shows: the loader's own initial load
LOADER_CATEGORIES = frozenset({Category.INTERP, Category.NEEDED, Category.PRELOAD})
# files libc reads rather than loads: needed as data
READ_CATEGORIES = frozenset({Category.DATA, Category.NSS_DATA})


class ObjectKind(str, Enum):
    """How an object came into the process (ld.so's l_type, with the preloads told apart)."""

    MAIN = "main"
    INTERP = "interp"
    NEEDED = "needed"
    PRELOAD = "preload"
    DLOPEN = "dlopen"


@dataclass
class TreeItem:
    """One path the program start needs, and why."""

    path: str  # as the loader (or libc) opens it: directory + name, symlinks unresolved
    reason: str
    category: Category
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
    kind: ObjectKind
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
    libc: Libc | None
    items: list[TreeItem] = field(default_factory=list)
    objects: list[LoadedObject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rtld_referenced: bool = False  # some DT_NEEDED named the loader itself (glibc lists it then)

    def loader_paths(self) -> list[str]:
        """What `ld.so --list` prints: the initial load (glibc leaves the interpreter out when no
        object names it, though the kernel still maps it for an executable)."""
        return [i.path for i in self.items if i.category in LOADER_CATEGORIES
                and (i.category is not Category.INTERP or self.rtld_referenced)]
