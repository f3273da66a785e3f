"""What glibc's and musl's searches for one name have in common: the result (the file found,
the hwcaps variants kept with it, what was skipped and where it looked), names with a '/', and
the check that a file is an object this loader can use (ld.so's open_verify)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.rootfs.entry import Entry
from slimmer.trace.elf.arch import Libc, Rules
from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.reader import ElfError, ElfInfo
from slimmer.trace.elf.tree import Category, LoadedObject, LoadTree, TreeItem


@dataclass
class Found:
    """The file a name loads, and how the search came to it."""

    path: str
    entry: Entry
    info: ElfInfo
    how: str


@dataclass
class SearchResult:
    found: Found | None = None
    variants: list[TreeItem] = field(default_factory=list)  # loaded instead on some CPUs, or once ldconfig runs
    skipped: list[str] = field(default_factory=list)  # files of the name the loader would not use
    searched: list[str] = field(default_factory=list)  # where it looked, for the "not found" warning


class Search:
    """One loader's search for names within one process; subclasses give the search order."""

    def __init__(self, image: ImageLoader, rules: Rules, main: LoadedObject, tree: LoadTree) -> None:
        self.image = image
        self.rules = rules
        self.main = main
        self.tree = tree  # data files the search reads (ld.so.cache, musl's path file) are added to it
        self._quiet = False  # no warnings about unusable files (a dlopen that may well fail)

    def find(self, name: str, requester: LoadedObject, quiet: bool = False) -> SearchResult:
        """Where the loader finds `name` when `requester` asks for it."""
        self._quiet = quiet
        try:
            result = SearchResult()
            if "/" in name:
                path = name
                if not name.startswith("/"):
                    path = posixpath.join(self.image.cwd, name)
                    self.image.warn(requester.real, f"{name} is a relative path: resolved against the working "
                                                    f"directory {self.image.cwd}")
                self._try_file(path, name, "path as written", result)
            else:
                self._search(name, requester, result)
            return result
        finally:
            self._quiet = False

    def _search(self, name: str, requester: LoadedObject, result: SearchResult) -> None:
        raise NotImplementedError

    def _emit_data(self, path: str, reason: str, requester: str, optional: bool = False) -> None:
        self.tree.items.append(TreeItem(path, reason, Category.DATA, requester, optional))

    def _try_file(self, path: str, name: str, how: str, result: SearchResult) -> bool:
        """open_verify: the file exists and is an object this loader can use."""
        real, entry = self.image.resolve(path)
        if entry is None or not entry.is_file:
            return False
        try:
            info = self.image.info(entry)
        except ElfError as e:
            if not self._quiet:
                self.image.warn(real, f"{path} would be opened for {name} but is not a usable ELF file ({e}); "
                                      f"ld.so fails there, the search is continued here")
            result.skipped.append(f"{path} (not ELF)")
            return False
        why_not = self.rules.accepts(info)
        if why_not is not None:
            if self.rules.libc is Libc.MUSL and not self._quiet:
                self.image.warn(real, f"{path} is {why_not}: musl loads the first file of the name and fails on it")
            result.skipped.append(f"{path} ({why_not})")
            return False
        result.found = Found(path, entry, info, how)
        return True
