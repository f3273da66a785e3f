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
from slimmer.trace.elf import extras
from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.process import Process
from slimmer.trace.elf.reader import ET_DYN, ET_EXEC, ElfError, ElfInfo
from slimmer.trace.elf.tree import READ_CATEGORIES, LoadTree


class ElfTracer:
    """Tracer plug-in for ELF files.

    cwd: the image's WorkingDir (relative DT_NEEDED names and relative RPATH entries resolve
        against it); None takes the context's `cwd`.
    gconv: what is kept of the gconv directory when something imports iconv_open. "auto": the
        configuration, the modules of the charsets named in the importers' read-only data and
        of the locale charset the image's Env selects, and every module when an importer takes
        its charsets from its input (iconv(1), libxml2, GLib, ...: extras.GCONV_ANY_CHARSET);
        "all": every module the configuration names; "config": the configuration only (the
        charsets built into libc work); "none": nothing.
    dlopen_names: keep libraries named by string literals of objects that import dlopen.
    known_dlopen: plugin-directory rules of well-known libraries (extras.KNOWN_DLOPEN).
    """

    name = "elf"

    def __init__(self, *, cwd: str | None = None, gconv: str = "auto", dlopen_names: bool = True,
                 known_dlopen: tuple[extras.KnownDlopen, ...] = extras.KNOWN_DLOPEN) -> None:
        if gconv not in ("auto", "all", "config", "none"):
            raise ValueError(f"gconv must be 'auto', 'all', 'config' or 'none', not {gconv!r}")
        self.cwd = cwd
        self.gconv = gconv
        self.dlopen_names = dlopen_names
        self.known_dlopen = known_dlopen
        self.trees: dict[str, LoadTree] = {}  # load trees computed, by root path
        self._fs: RootFS | None = None
        self._loader: ImageLoader | None = None
        self._placed: set[tuple[int, int]] = set()  # content placed as a library by some load tree
        self._gconv_emitted: set[str] = set()

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

    # -- for `slim trace` / `slim why` and tests --

    def loader(self, ctx: TraceContext) -> ImageLoader:
        """The image-wide loader state for this context's filesystem (made on first use)."""
        if self._loader is None or self._fs is not ctx.fs:
            self._fs = ctx.fs
            cwd = self.cwd if self.cwd is not None else getattr(ctx, "cwd", "/")
            self._loader = ImageLoader(ctx.fs, ctx.env, ctx.warn, cwd=cwd, gconv=self.gconv,
                                       dlopen_names=self.dlopen_names, known_dlopen=self.known_dlopen)
            self._placed = set()
            self._gconv_emitted = set()
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
            tree = Process(loader, path, entry, info).run()
            self.trees[path] = tree
            for obj in tree.objects:
                if obj.kind != "main":
                    self._placed.add(obj.entry.content_key)
        return tree

    def _needs_of(self, tree: LoadTree) -> list[Need]:
        needs: list[Need] = []
        seen: set[str] = set()
        for item in tree.items:
            if item.path in seen:
                continue
            if item.category == "gconv":
                if item.path in self._gconv_emitted:
                    continue  # already asked for by another importer: once per image is enough
                self._gconv_emitted.add(item.path)
            seen.add(item.path)
            needs.append(Need(item.path, item.reason, optional=item.optional, data=item.category in READ_CATEGORIES))
        return needs
