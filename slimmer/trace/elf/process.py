"""One simulated program start (`Process`): the interpreter, preloads, the breadth-first
DT_NEEDED walk with RPATH inheritance along the chain of loaders, each name found by the
loader's own search order (search_glibc, search_musl), then the extras: what libc and
well-known code load behind the program's back (given by the caller, see behind.py)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Container
from dataclasses import dataclass

from slimmer.rootfs.entry import Entry
from slimmer.trace.elf.arch import Libc
from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.reader import ElfError, ElfInfo
from slimmer.trace.elf.search_glibc import GlibcSearch
from slimmer.trace.elf.search_musl import MuslSearch, is_musl_libc_name
from slimmer.trace.elf.tree import LOADER_CATEGORIES, Category, LoadedObject, LoadTree, ObjectKind, TreeItem

LD_SO_PRELOAD = "/etc/ld.so.preload"

Extra = Callable[["Process"], None]  # adds what one behind-the-back mechanism loads


@dataclass(frozen=True)
class Extras:
    """The mechanisms run after the loader's own work, for dynamic and for static programs."""

    dynamic: tuple[Extra, ...] = ()
    static: tuple[Extra, ...] = ()


class Process:
    """Simulates the loader starting `root`, then the libraries loaded behind its back."""

    def __init__(self, loader: ImageLoader, root: str, entry: Entry, info: ElfInfo,
                 extras: Extras = Extras()) -> None:
        self.ld = loader
        self.root = root
        self.info = info
        self.extras = extras
        self.rules = loader.rules_for(info, info.interp)
        self.tree = LoadTree(root, info.describe(), self.rules.libc)
        self.by_name: dict[str, LoadedObject] = {}
        self.by_key: dict[tuple[int, int], LoadedObject] = {}
        self.rtld: LoadedObject | None = None
        # the executable's $ORIGIN: the kernel starts it at its real path (/proc/self/exe)
        real, _e = loader.resolve(root)
        self.main = self._add(root, real, entry, info, None, ObjectKind.MAIN, posixpath.dirname(real))
        searches = MuslSearch if self.rules.libc is Libc.MUSL else GlibcSearch
        self.search = searches(loader, self.rules, self.main, self.tree)

    # -- bookkeeping --

    def _add(self, path: str, real: str, entry: Entry, info: ElfInfo, loader: LoadedObject | None, kind: ObjectKind,
             origin: str | None = None, name: str | None = None) -> LoadedObject:
        """Map an object: it answers to its path, the name it was asked by and its soname."""
        obj = LoadedObject(path, real, entry, info, loader,
                           origin if origin is not None else posixpath.dirname(path), kind)
        obj.names.add(path)
        if name:
            obj.names.add(name)
        if info.soname:
            obj.names.add(info.soname)
        for n in obj.names:
            self.by_name.setdefault(n, obj)
        self.by_key.setdefault(entry.content_key, obj)
        self.tree.objects.append(obj)
        return obj

    @property
    def objects(self) -> list[LoadedObject]:
        """The objects loaded so far, in load order."""
        return self.tree.objects

    def emit(self, path: str, reason: str, category: Category, requester: str | None, optional: bool = False) -> None:
        """Add a path the start needs to the tree."""
        self.tree.items.append(TreeItem(path, reason, category, requester, optional))

    # -- the start --

    def run(self) -> LoadTree:
        """The whole start: interpreter, preloads, DT_NEEDED closure, then the extras."""
        info = self.info
        if info.is_static or info.is_static_pie:
            self.tree.notes.append(info.describe())
            for extra in self.extras.static:
                extra(self)
            return self.tree
        if info.interp:
            self._load_interp(info.interp, f"program interpreter (PT_INTERP) of {self.root}")
        elif self.rules.interp and info.needed:
            # a library root: it runs under the image's loader (which `ld.so --list` shows with it)
            self._load_interp(self.rules.interp, f"dynamic loader the shared object {self.root} runs under "
                                                 f"({self.rules.libc})", optional=True)
        queue = [self.main]
        if self.rules.libc is Libc.GLIBC:
            queue += self._preloads()
        self._load_needed(queue, Category.NEEDED)
        for extra in self.extras.dynamic:
            extra(self)
        return self.tree

    def _load_interp(self, interp: str, reason: str, optional: bool = False) -> None:
        """The loader itself, mapped first (musl's is also its libc)."""
        self.emit(interp, reason, Category.INTERP, self.root, optional)
        real, entry = self.ld.resolve(interp)
        if entry is None or not entry.is_file:
            return  # the closure warns about a missing (non-optional) interpreter
        try:
            info = self.ld.info(entry)
        except ElfError as e:
            self.ld.warn(self.root, f"interpreter {interp} is not a usable ELF file: {e}")
            return
        self.rtld = self._add(interp, real, entry, info, None, ObjectKind.INTERP)
        if self.rules.libc is Libc.MUSL:
            self.rtld.names.add("libc.so")
            self.tree.rtld_referenced = True  # musl's --list always shows itself

    def _preloads(self) -> list[LoadedObject]:
        """LD_PRELOAD of the image's Env, then /etc/ld.so.preload, loaded for the executable."""
        loaded: list[LoadedObject] = []
        env_preload = self.ld.env.get("LD_PRELOAD", "")
        names = [(n, "LD_PRELOAD in the image environment") for n in re.split(r"[ :]", env_preload) if n]
        text = self.ld.read_text(LD_SO_PRELOAD)
        if text is not None:
            self.emit(LD_SO_PRELOAD, "read by ld.so at every program start", Category.DATA, self.root)
            names += [(n, LD_SO_PRELOAD) for n in re.split(r"[ \t\n:]", text.split("#", 1)[0]) if n]
        for name, source in names:
            obj = self.load(name, self.main, Category.PRELOAD, f"preloaded {name} ({source})")
            if obj is not None:
                loaded.append(obj)
        return loaded

    def _load_needed(self, queue: list[LoadedObject], category: Category, optional: bool = False) -> None:
        """Breadth-first, as ld.so does: the DT_NEEDED of each object of `queue`, then of the
        objects that brings in."""
        i = 0
        while i < len(queue):
            obj = queue[i]
            i += 1
            for name in obj.info.needed:
                new = self.load(name, obj, category, f"DT_NEEDED {name} of {obj.path}", optional)
                if new is not None:
                    queue.append(new)

    # -- loading one name --

    def load(self, name: str, requester: LoadedObject, category: Category, reason: str,
             optional: bool = False, quiet_missing: bool = False) -> LoadedObject | None:
        """Load `name` for `requester` (DT_NEEDED, preload or dlopen); emit what the lookup
        touches; return the object when it is new in the process."""
        existing = self._already_loaded(name)
        if existing is not None:
            existing.names.add(name)
            if existing is self.rtld and category in LOADER_CATEGORIES:
                self.tree.rtld_referenced = True
            return None
        search = self.search.find(name, requester, quiet_missing)
        for v in search.variants:
            v.requester = requester.real
            v.reason = f"{v.reason}; for {reason}"
            v.optional = v.optional or optional
            self.tree.items.append(v)
        if search.found is None:
            if not quiet_missing:
                where = "; ".join(search.searched) or "nowhere to search"
                skipped = f"; skipped: {', '.join(search.skipped)}" if search.skipped else ""
                self.ld.warn(requester.real, f"{reason}: not found ({where}{skipped})")
            return None
        found = search.found
        skipped = f"; skipped {', '.join(search.skipped)}" if search.skipped else ""
        self.emit(found.path, f"{reason} ({found.how}{skipped})", category, requester.real, optional)
        real, _e = self.ld.resolve(found.path)
        same = self.by_key.get(found.entry.content_key)
        if same is not None:  # the same file under another path: ld.so reuses the loaded object
            same.names.add(name)
            self.by_name.setdefault(name, same)
            return None
        kind = {Category.NEEDED: ObjectKind.NEEDED, Category.PRELOAD: ObjectKind.PRELOAD}.get(category,
                                                                                       ObjectKind.DLOPEN)
        return self._add(found.path, real, found.entry, found.info, requester, kind, None, name)

    def _already_loaded(self, name: str) -> LoadedObject | None:
        """The object a name already stands for (ld.so's _dl_name_match_p over the namespace)."""
        obj = self.by_name.get(name)
        if obj is not None:
            return obj
        if self.rules.libc is Libc.MUSL and self.rtld is not None and is_musl_libc_name(name):
            return self.rtld
        return None

    # -- what the loader does not see --

    def importers(self, functions: Container[str]) -> list[tuple[LoadedObject, list[str]]]:
        """Objects of the process importing any of `functions`, with the names they import."""
        out = []
        for obj in list(self.objects):
            hits = sorted(n for n in obj.info.undefined if n in functions)
            if hits:
                out.append((obj, hits))
        return out

    def dlopen(self, name: str, caller: LoadedObject, category: Category, reason: str, optional: bool,
               quiet_missing: bool = False) -> None:
        """A dlopen by `caller`: the object and its own dependencies, in this process."""
        obj = self.load(name, caller, category, reason, optional, quiet_missing or optional)
        if obj is not None:
            self._load_needed([obj], category, optional)

    def libc(self) -> LoadedObject | None:
        """glibc's libc.so.6, which dlopens NSS modules and libgcc_s."""
        for obj in self.objects:
            if obj.info.soname == "libc.so.6" or obj.path.endswith("/libc.so.6"):
                return obj
        return None
