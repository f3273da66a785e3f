"""The ELF tracer plug-in: every file the image's dynamic loader (and libc behind the program's
back) opens for a kept ELF file, resolved against the image's own root.

When the closure hands it a program (or a shared object nobody loaded yet), the tracer
simulates that program's whole start at once, so each library's dependencies are resolved in
the context of the chain that loaded it (RPATH inheritance), and emits every path with a reason
naming the real requester ("DT_NEEDED libz.so.1 of /usr/lib/x86_64-linux-gnu/libcurl.so.4
(found through /etc/ld.so.cache)"). Libraries already placed by such a simulation are not
re-resolved when the closure visits them; shared objects reached only otherwise (a Python
extension module, a plugin kept by a rule) are resolved as the root of their own tree.
"""

from __future__ import annotations

from collections.abc import Iterable

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.filekind import FileKind
from slimmer.rootfs.fs import RootFS
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.elf.behind import BEHIND_THE_BACK
from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.process import Process
from slimmer.trace.elf.reader import ET_DYN, ET_EXEC, ElfError, ElfInfo
from slimmer.trace.elf.tree import READ_CATEGORIES, LoadTree, ObjectKind


class ElfTracer:
    """Tracer plug-in for ELF files.

    cwd: the image's WorkingDir (relative DT_NEEDED names and relative RPATH entries resolve
        against it); None takes the context's `cwd`.
    dlopen_names: keep libraries named by string literals of objects that import dlopen.

    Data libc loads by name (gconv modules, time zones, locales, plugins) is the business of
    slimmer/trace/named/, which reads the facts parsed here through `loader`.
    """

    name = "elf"

    def __init__(self, *, cwd: str | None = None, dlopen_names: bool = True) -> None:
        self.cwd = cwd
        self.dlopen_names = dlopen_names
        self.trees: dict[str, LoadTree] = {}  # load trees computed, by root path
        self._fs: RootFS | None = None
        self._loader: ImageLoader | None = None
        self._placed: set[tuple[int, int]] = set()  # content placed as a library by some load tree

    # -- the plug-in interface --

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        if ctx.kind(entry) is not FileKind.ELF:
            return []
        loader = self.loader(ctx)
        try:
            info = loader.info(entry)
        except ElfError as e:
            ctx.warn(path, f"ELF file the loader could not use: {e}")
            return []
        if info.type not in (ET_EXEC, ET_DYN):
            return []  # relocatable objects (.o, .ko), core files: nothing loads them as they are
        if entry.content_key in self._placed and info.interp is None:
            return []  # its dependencies were resolved in the load tree that placed it
        tree = self._tree(path, entry, info, loader)
        if tree.notes:
            ctx.note(path, "; ".join(tree.notes))
        return self._needs_of(tree)

    def object_info(self, entry: Entry, ctx: TraceContext) -> ElfInfo | None:
        """The ELF facts of a kept file for the tracers that read them (imports, strings, type);
        None when it is no ELF object or one the loader cannot use (needs() warns about those)."""
        if ctx.kind(entry) is not FileKind.ELF:
            return None
        try:
            return self.loader(ctx).info(entry)
        except ElfError:
            return None

    # -- for `slim trace` / `slim why` and tests --

    def loader(self, ctx: TraceContext) -> ImageLoader:
        """The image-wide loader state for this context's filesystem (made on first use)."""
        if self._loader is None or self._fs is not ctx.fs:
            self._fs = ctx.fs
            cwd = self.cwd if self.cwd is not None else getattr(ctx, "cwd", "/")
            self._loader = ImageLoader(ctx.fs, ctx.env, ctx.warn, cwd=cwd, dlopen_names=self.dlopen_names)
            self._placed = set()
            self.trees = {}
        return self._loader

    def tree(self, path: str, ctx: TraceContext) -> LoadTree | None:
        """The load tree of `path` as a root (computed if needed), None when it is not ELF."""
        if path in self.trees:
            return self.trees[path]
        loader = self.loader(ctx)
        real, entry = loader.resolve(path)
        if entry is None or not entry.is_file or ctx.kind(entry) is not FileKind.ELF:
            return None
        try:
            info = loader.info(entry)
        except ElfError:
            return None
        return self._tree(real, entry, info, loader)

    def describe(self, path: str, ctx: TraceContext) -> str | None:
        """What kind of ELF object `path` is (static, static-pie, dynamic, its interpreter...)."""
        loader = self.loader(ctx)
        _real, entry = loader.resolve(path)
        if entry is None or not entry.is_file or ctx.kind(entry) is not FileKind.ELF:
            return None
        try:
            return loader.info(entry).describe()
        except ElfError as e:
            return f"unusable ELF file: {e}"

    # -- internals --

    def _tree(self, path: str, entry: Entry, info: ElfInfo, loader: ImageLoader) -> LoadTree:
        tree = self.trees.get(path)
        if tree is None:
            tree = Process(loader, path, entry, info, BEHIND_THE_BACK).run()
            self.trees[path] = tree
            for obj in tree.objects:
                if obj.kind is not ObjectKind.MAIN:
                    self._placed.add(obj.entry.content_key)
        return tree

    def _needs_of(self, tree: LoadTree) -> list[Need]:
        needs: list[Need] = []
        seen: set[str] = set()
        for item in tree.items:
            if item.path in seen:
                continue
            seen.add(item.path)
            needs.append(Need(item.path, item.reason, optional=item.optional, rule=item.category.value,
                              data=item.category in READ_CATEGORIES))
        return needs
