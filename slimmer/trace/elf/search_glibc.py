"""glibc's search for a name without '/' (elf/dl-load.c, _dl_map_object), requested by object L:

  1. DT_RPATH of L, of L's loader, ... up the chain, then of the executable -- only when L has
     no DT_RUNPATH (and an object's DT_RPATH is ignored when it has DT_RUNPATH itself);
  2. LD_LIBRARY_PATH (tokens expanded for the executable);
  3. DT_RUNPATH of L only (not inherited);
  4. /etc/ld.so.cache, unless L has DF_1_NODEFLIB, which also rejects cached system-dir paths;
  5. the system directories compiled into ld.so, unless L has DF_1_NODEFLIB.

Every directory is tried with its glibc-hwcaps (and legacy hwcap) subdirectories first; a file
of the wrong ELF class or machine is skipped and the search goes on, as ld.so does.
"""

from __future__ import annotations

import posixpath

from slimmer.trace.elf.arch import Rules
from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.ldcache import LD_SO_CACHE, LdCache
from slimmer.trace.elf.search import Search, SearchResult
from slimmer.trace.elf.tokens import expand_glibc
from slimmer.trace.elf.tree import Category, LoadedObject, LoadTree, TreeItem


class GlibcSearch(Search):
    """ld.so's search order, with the directory lists of each object expanded once."""

    def __init__(self, image: ImageLoader, rules: Rules, main: LoadedObject, tree: LoadTree) -> None:
        super().__init__(image, rules, main, tree)
        self._rpath_dirs: dict[tuple[int, str], list[tuple[str, str]]] = {}  # (id(object), rpath|runpath)
        self._llp_dirs: list[tuple[str, str]] | None = None
        self._cache_emitted = False

    def _search(self, name: str, requester: LoadedObject, result: SearchResult) -> None:
        if requester.info.runpath is None and self._try_rpaths(name, requester, result):
            return
        llp = self.image.env.get("LD_LIBRARY_PATH")
        if llp:
            if self._llp_dirs is None:
                self._llp_dirs = expand_glibc(llp, self.main.origin, self.rules, self.image.cwd, ":;")
            if self._try_dirs(name, self._llp_dirs, "LD_LIBRARY_PATH", result):
                return
        runpath = self._dirs(requester, "runpath")
        if runpath and self._try_dirs(name, runpath, f"RUNPATH of {requester.path}", result):
            return
        nodeflib = requester.info.nodeflib
        cache = self.image.ldcache()
        if cache is not None:
            result.searched.append("ld.so.cache")
            if not self._cache_emitted:
                self._cache_emitted = True
                self._emit_data(LD_SO_CACHE, "read by ld.so to find libraries not found in RPATH, LD_LIBRARY_PATH "
                                             "or RUNPATH", self.main.path, optional=True)
            if self._try_cache(name, cache, nodeflib, result):
                return
        if nodeflib:
            result.searched.append(f"no system directories: {requester.path} has DF_1_NODEFLIB")
            return
        self._try_dirs(name, [(d, "") for d in self.rules.system_dirs], "system directory", result)
        if cache is None or name not in cache:
            self._try_ldconf(name, cache, result)

    def _try_rpaths(self, name: str, requester: LoadedObject, result: SearchResult) -> bool:
        """DT_RPATH of the requester and up its chain of loaders, then of the executable
        unless the chain already tried it."""
        did_main = False
        obj: LoadedObject | None = requester
        while obj is not None:
            dirs = self._dirs(obj, "rpath")
            if dirs:
                if self._try_dirs(name, dirs, f"RPATH of {obj.path}", result):
                    return True
                did_main |= obj is self.main
            obj = obj.loader
        if not did_main:
            dirs = self._dirs(self.main, "rpath")
            if dirs and self._try_dirs(name, dirs, f"RPATH of the executable {self.main.path}", result):
                return True
        return False

    def _dirs(self, obj: LoadedObject, which: str) -> list[tuple[str, str]]:
        """The object's DT_RPATH ("rpath", only when it has no DT_RUNPATH) or DT_RUNPATH, expanded."""
        key = (id(obj), which)
        hit = self._rpath_dirs.get(key)
        if hit is None:
            spec = obj.info.effective_rpath if which == "rpath" else obj.info.runpath
            hit = expand_glibc(spec, obj.origin, self.rules, self.image.cwd) if spec else []
            self._rpath_dirs[key] = hit
        return hit

    def _try_cache(self, name: str, cache: LdCache, nodeflib: bool, result: SearchResult) -> bool:
        """_dl_load_cache_lookup returns one path: the first entry of the name usable on this CPU.
        On a CPU without hwcaps that is the first baseline entry; entries with hwcaps conditions
        are kept as variants. If that path is unusable (missing, wrong class, or in a system
        directory under DF_1_NODEFLIB) ld.so goes on to the system directories."""
        system = tuple(d.rstrip("/") + "/" for d in self.rules.system_dirs)
        baseline_seen = False
        for entry in cache.lookup(name, self.rules.arch.cache_flags):
            if entry.is_baseline and baseline_seen:
                continue
            if nodeflib and entry.path.startswith(system):
                result.skipped.append(f"{entry.path} (cached, in a system directory: DF_1_NODEFLIB)")
                baseline_seen |= entry.is_baseline
                continue
            probe = SearchResult()
            if entry.is_baseline:
                baseline_seen = True
                if self._try_file(entry.path, name, "found through /etc/ld.so.cache", probe):
                    result.found = probe.found
                result.skipped.extend(probe.skipped)
            else:
                what = f"glibc-hwcaps {entry.hwcaps_subdir}" if entry.hwcaps_subdir else f"hwcap {entry.hwcap:#x}"
                if self._try_file(entry.path, name, "", probe):
                    result.variants.append(TreeItem(
                        entry.path, f"{what} variant of {name} in /etc/ld.so.cache: ld.so loads it instead on CPUs "
                                    f"that support it (the CPU is unknown statically)", Category.HWCAPS, None))
        return result.found is not None

    def _try_ldconf(self, name: str, cache: LdCache | None, result: SearchResult) -> None:
        """Conservative extra: the first copy of `name` in the ld.so.conf directories, which
        ldconfig would put in the cache (the cache is absent, or stale: it does not know the
        name), and which would then win over the system directories."""
        why = "no /etc/ld.so.cache" if cache is None else "not in /etc/ld.so.cache (stale)"
        found_real = self.image.resolve(result.found.path)[0] if result.found else None
        for d in self.image.ldconf_dirs():
            path = posixpath.join(d, name)
            if self._try_file(path, name, "", SearchResult()):
                if self.image.resolve(path)[0] != found_real:
                    result.variants.append(TreeItem(
                        path, f"{name} in ld.so.conf directory {d} ({why}): ld.so finds it there once "
                              f"ldconfig runs", Category.LDCONF, None, optional=True))
                return

    def _try_dirs(self, name: str, dirs: list[tuple[str, str]], label: str, result: SearchResult) -> bool:
        """Each directory's hwcaps subdirectories (kept as variants), then the directory itself."""
        for directory, note in dirs:
            where = f"{label} {directory}"
            if note:
                where += f" ({note})"
            result.searched.append(where)
            for sub, what in self.image.subdirs(directory, self.rules):
                path = posixpath.join(directory, sub, name)
                probe = SearchResult()
                if self._try_file(path, name, "", probe):
                    result.variants.append(TreeItem(
                        path, f"{what} variant of {name} in {where}: ld.so loads it instead on CPUs that "
                              f"support it (the CPU is unknown statically)", Category.HWCAPS, None))
                result.skipped.extend(probe.skipped)
            if self._try_file(posixpath.join(directory, name), name, f"found in {where}", result):
                return True
        return False
