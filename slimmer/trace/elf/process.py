"""The image's dynamic loader, simulated statically: glibc's ld.so and musl's ldso search rules.

`ImageLoader` holds what is shared by every program of one image (parsed ELF facts by content,
ld.so.cache, ld.so.conf, directory probes); `Process` simulates one program start: the
interpreter, preloads, the breadth-first DT_NEEDED walk with RPATH inheritance along the chain
of loaders, then the libraries libc and well-known code dlopen behind the program's back.

glibc order for a name without '/' (elf/dl-load.c, _dl_map_object), requested by object L:
  1. DT_RPATH of L, of L's loader, ... up the chain, then of the executable -- only when L has
     no DT_RUNPATH (and an object's DT_RPATH is ignored when it has DT_RUNPATH itself);
  2. LD_LIBRARY_PATH (tokens expanded for the executable);
  3. DT_RUNPATH of L only (not inherited);
  4. /etc/ld.so.cache, unless L has DF_1_NODEFLIB, which also rejects cached system-dir paths;
  5. the system directories compiled into ld.so, unless L has DF_1_NODEFLIB.
Every directory is tried with its glibc-hwcaps (and legacy hwcap) subdirectories first; a file
of the wrong ELF class or machine is skipped and the search goes on, as ld.so does.

musl order (ldso/dynlink.c, load_library): names of libc itself (libc.so, libpthread.so, ...)
are the loader; LD_LIBRARY_PATH; the DT_RUNPATH-or-DT_RPATH of L and of every object up L's
chain (both inherited); /etc/ld-musl-ARCH.path relative to the loader's prefix, else
/lib:/usr/local/lib:/usr/lib. No cache, no hwcaps, no class check (the first file found wins).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field

from slimmer.rootfs.entry import Entry
from slimmer.trace.elf import extras
from slimmer.trace.elf.image import LD_SO_CACHE, ImageLoader
from slimmer.trace.elf.ldcache import LdCache
from slimmer.trace.elf.reader import ElfError, ElfInfo
from slimmer.trace.elf.tokens import expand_glibc, expand_musl
from slimmer.trace.elf.tree import LOADER_CATEGORIES, LoadedObject, LoadTree, TreeItem

LD_SO_PRELOAD = "/etc/ld.so.preload"
MUSL_DEFAULT_PATH = "/lib:/usr/local/lib:/usr/lib"
# names musl's loader answers itself (ldso/dynlink.c "reserved")
MUSL_RESERVED = ("c", "pthread", "rt", "m", "dl", "util", "xnet")


@dataclass
class _Found:
    path: str
    entry: Entry
    info: ElfInfo
    how: str


@dataclass
class _Search:
    found: _Found | None = None
    variants: list[TreeItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)


class Process:
    """Simulates the loader starting `root`, then the libraries loaded behind its back."""

    def __init__(self, loader: ImageLoader, root: str, entry: Entry, info: ElfInfo) -> None:
        self.ld = loader
        self.root = root
        self.info = info
        self.rules = loader.rules_for(info, info.interp)
        self.tree = LoadTree(root, info.describe(), self.rules.libc)
        self.objects: list[LoadedObject] = []
        self.by_name: dict[str, LoadedObject] = {}
        self.by_key: dict[tuple[int, int], LoadedObject] = {}
        self.rtld: LoadedObject | None = None
        self._dirs_cache: dict[tuple[int, str], list[tuple[str, str]]] = {}
        self._cache_emitted = False
        self._quiet = False
        # the executable's $ORIGIN: the kernel starts it at its real path (/proc/self/exe)
        real, _e = loader.resolve(root)
        self.main = self._add(root, real, entry, info, None, "main", posixpath.dirname(real))

    # -- bookkeeping --

    def _add(self, path: str, real: str, entry: Entry, info: ElfInfo, loader: LoadedObject | None, kind: str,
             origin: str | None = None, name: str | None = None) -> LoadedObject:
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
        self.objects.append(obj)
        self.tree.objects.append(obj)
        return obj

    def emit(self, path: str, reason: str, category: str, requester: str | None, optional: bool = False) -> None:
        self.tree.items.append(TreeItem(path, reason, category, requester, optional))

    # -- the start --

    def run(self) -> LoadTree:
        info = self.info
        if info.is_static or info.is_static_pie:
            self.tree.notes.append(info.describe())
            self._static_extras()
            return self.tree
        if info.interp:
            self._load_interp(info.interp, f"program interpreter (PT_INTERP) of {self.root}")
        elif self.rules.interp and info.needed:
            # a library root: it runs under the image's loader (which `ld.so --list` shows with it)
            self._load_interp(self.rules.interp, f"dynamic loader the shared object {self.root} runs under "
                                                 f"({self.rules.libc})", optional=True)
        queue = [self.main]
        if self.rules.libc == "glibc":
            queue += self._preloads()
        i = 0
        while i < len(queue):
            obj = queue[i]
            i += 1
            for name in obj.info.needed:
                new = self.load(name, obj, "needed", f"DT_NEEDED {name} of {obj.path}")
                if new is not None:
                    queue.append(new)
        self._extras()
        return self.tree

    def _load_interp(self, interp: str, reason: str, optional: bool = False) -> None:
        self.emit(interp, reason, "interp", self.root, optional)
        real, entry = self.ld.resolve(interp)
        if entry is None or not entry.is_file:
            return  # the closure warns about a missing (non-optional) interpreter
        try:
            info = self.ld.info(entry)
        except ElfError as e:
            self.ld.warn(self.root, f"interpreter {interp} is not a usable ELF file: {e}")
            return
        self.rtld = self._add(interp, real, entry, info, None, "interp")
        if self.rules.libc == "musl":
            self.rtld.names.add("libc.so")
            self.tree.rtld_referenced = True  # musl's --list always shows itself

    def _preloads(self) -> list[LoadedObject]:
        loaded: list[LoadedObject] = []
        names = [(n, "LD_PRELOAD in the image environment") for n in re.split(r"[ :]", self.ld.env.get("LD_PRELOAD", "")) if n]
        text = self.ld.read_text(LD_SO_PRELOAD)
        if text is not None:
            self.emit(LD_SO_PRELOAD, "read by ld.so at every program start", "data", self.root)
            names += [(n, LD_SO_PRELOAD) for n in re.split(r"[ \t\n:]", text.split("#", 1)[0]) if n]
        for name, source in names:
            obj = self.load(name, self.main, "preload", f"preloaded {name} ({source})")
            if obj is not None:
                loaded.append(obj)
        return loaded

    # -- loading one name --

    def load(self, name: str, requester: LoadedObject, category: str, reason: str,
             optional: bool = False, quiet_missing: bool = False) -> LoadedObject | None:
        """Load `name` for `requester` (DT_NEEDED, preload or dlopen); emit what the lookup
        touches; return the object when it is new in the process."""
        existing = self._already_loaded(name)
        if existing is not None:
            existing.names.add(name)
            if existing is self.rtld and category in LOADER_CATEGORIES:
                self.tree.rtld_referenced = True
            return None
        self._quiet = quiet_missing
        search = self.search(name, requester)
        self._quiet = False
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
        kind = "dlopen" if category not in ("needed", "preload") else category
        return self._add(found.path, real, found.entry, found.info, requester, kind, None, name)

    def _already_loaded(self, name: str) -> LoadedObject | None:
        obj = self.by_name.get(name)
        if obj is not None:
            return obj
        if self.rules.libc == "musl":
            # libc.so, libpthread.so.0, libm.so.6, ... are the loader itself
            if name.startswith("lib") and self.rtld is not None:
                if any(name[3:].startswith(r + ".") for r in MUSL_RESERVED):
                    return self.rtld
            if self.rtld is not None and name == self.rtld.path:
                return self.rtld
        return None

    # -- the search --

    def search(self, name: str, requester: LoadedObject) -> _Search:
        result = _Search()
        if "/" in name:
            path = name
            if not name.startswith("/"):
                path = posixpath.join(self.ld.cwd, name)
                self.ld.warn(requester.real, f"{name} is a relative path: resolved against the working "
                                             f"directory {self.ld.cwd}")
            self._try_file(path, name, "path as written", result)
            return result
        if self.rules.libc == "musl":
            return self._search_musl(name, requester, result)
        return self._search_glibc(name, requester, result)

    def _dirs(self, obj: LoadedObject, which: str) -> list[tuple[str, str]]:
        key = (id(obj), which)
        hit = self._dirs_cache.get(key)
        if hit is None:
            spec = obj.info.effective_rpath if which == "rpath" else obj.info.runpath
            hit = expand_glibc(spec, obj.origin, self.rules, self.ld.cwd) if spec else []
            self._dirs_cache[key] = hit
        return hit

    def _search_glibc(self, name: str, requester: LoadedObject, result: _Search) -> _Search:
        main = self.main
        if requester.info.runpath is None:
            did_main = False
            obj: LoadedObject | None = requester
            while obj is not None:
                dirs = self._dirs(obj, "rpath")
                if dirs:
                    if self._try_dirs(name, dirs, f"RPATH of {obj.path}", result):
                        return result
                    did_main |= obj is main
                obj = obj.loader
            if not did_main and main.kind == "main":
                dirs = self._dirs(main, "rpath")
                if dirs and self._try_dirs(name, dirs, f"RPATH of the executable {main.path}", result):
                    return result
        llp = self.ld.env.get("LD_LIBRARY_PATH")
        if llp:
            key = (0, "LD_LIBRARY_PATH")
            dirs = self._dirs_cache.get(key)
            if dirs is None:
                dirs = self._dirs_cache[key] = expand_glibc(llp, main.origin, self.rules, self.ld.cwd, ":;")
            if self._try_dirs(name, dirs, "LD_LIBRARY_PATH", result):
                return result
        runpath = self._dirs(requester, "runpath")
        if runpath and self._try_dirs(name, runpath, f"RUNPATH of {requester.path}", result):
            return result
        nodeflib = requester.info.nodeflib
        cache = self.ld.ldcache()
        if cache is not None:
            result.searched.append("ld.so.cache")
            if not self._cache_emitted:
                self._cache_emitted = True
                self.emit(LD_SO_CACHE, "read by ld.so to find libraries not found in RPATH, LD_LIBRARY_PATH or "
                                       "RUNPATH", "data", self.root, optional=True)
            if self._try_cache(name, cache, nodeflib, result):
                return result
        if nodeflib:
            result.searched.append(f"no system directories: {requester.path} has DF_1_NODEFLIB")
            return result
        self._try_dirs(name, [(d, "") for d in self.rules.system_dirs], "system directory", result)
        if cache is None or name not in cache:
            self._try_ldconf(name, cache, result)
        return result

    def _try_cache(self, name: str, cache: LdCache, nodeflib: bool, result: _Search) -> bool:
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
            probe = _Search()
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
                                    f"that support it (the CPU is unknown statically)", "hwcaps", None))
        return result.found is not None

    def _try_ldconf(self, name: str, cache: LdCache | None, result: _Search) -> None:
        """Conservative extra: the first copy of `name` in the ld.so.conf directories, which
        ldconfig would put in the cache (the cache is absent, or stale: it does not know the
        name), and which would then win over the system directories."""
        why = "no /etc/ld.so.cache" if cache is None else "not in /etc/ld.so.cache (stale)"
        found_real = self.ld.resolve(result.found.path)[0] if result.found else None
        for d in self.ld.ldconf_dirs():
            path = posixpath.join(d, name)
            if self._try_file(path, name, "", _Search()):
                if self.ld.resolve(path)[0] != found_real:
                    result.variants.append(TreeItem(
                        path, f"{name} in ld.so.conf directory {d} ({why}): ld.so finds it there once "
                              f"ldconfig runs", "ldconf", None, optional=True))
                return

    def _try_dirs(self, name: str, dirs: list[tuple[str, str]], label: str, result: _Search) -> bool:
        for directory, note in dirs:
            where = f"{label} {directory}" if label != "system directory" else f"system directory {directory}"
            if note:
                where += f" ({note})"
            result.searched.append(where)
            for sub, what in self.ld.subdirs(directory, self.rules):
                path = posixpath.join(directory, sub, name)
                probe = _Search()
                if self._try_file(path, name, "", probe):
                    result.variants.append(TreeItem(
                        path, f"{what} variant of {name} in {where}: ld.so loads it instead on CPUs that "
                              f"support it (the CPU is unknown statically)", "hwcaps", None))
                result.skipped.extend(probe.skipped)
            if self._try_file(posixpath.join(directory, name), name, f"found in {where}", result):
                return True
        return False

    def _try_file(self, path: str, name: str, how: str, result: _Search) -> bool:
        """open_verify: the file exists and is an object this loader can use."""
        real, entry = self.ld.resolve(path)
        if entry is None or not entry.is_file:
            return False
        try:
            info = self.ld.info(entry)
        except ElfError as e:
            if not self._quiet:
                self.ld.warn(real, f"{path} would be opened for {name} but is not a usable ELF file ({e}); "
                                   f"ld.so fails there, the search is continued here")
            result.skipped.append(f"{path} (not ELF)")
            return False
        why_not = self.rules.accepts(info)
        if why_not is not None:
            if self.rules.libc == "musl" and not self._quiet:
                self.ld.warn(real, f"{path} is {why_not}: musl loads the first file of the name and fails on it")
            result.skipped.append(f"{path} ({why_not})")
            return False
        result.found = _Found(path, entry, info, how)
        return True

    def _search_musl(self, name: str, requester: LoadedObject, result: _Search) -> _Search:
        cwd = self.ld.cwd
        llp = self.ld.env.get("LD_LIBRARY_PATH")
        if llp and self._try_musl_dirs(name, expand_musl(llp, None, cwd), "LD_LIBRARY_PATH", result):
            return result
        obj: LoadedObject | None = requester
        while obj is not None:
            spec = obj.info.runpath if obj.info.runpath is not None else obj.info.rpath
            if spec and self._try_musl_dirs(name, expand_musl(spec, obj.origin, cwd), f"rpath of {obj.path}", result):
                return result
            obj = obj.loader
        interp = self.rules.interp or f"/lib/ld-musl-{self.rules.arch.musl_arch}.so.1"
        prefix = posixpath.dirname(posixpath.dirname(interp)).rstrip("/")
        path_file = f"{prefix}/etc/ld-musl-{self.rules.arch.musl_arch}.path"
        text = self.ld.read_text(path_file)
        if text is not None:
            self.emit(path_file, f"musl's library path file, read when {name} is not in an rpath", "data",
                      requester.real)
            dirs, label = expand_musl(text.replace("\n", ":"), None, cwd), path_file
        else:
            dirs, label = MUSL_DEFAULT_PATH.split(":"), "musl default path"
        self._try_musl_dirs(name, dirs, label, result)
        return result

    def _try_musl_dirs(self, name: str, dirs: list[str], label: str, result: _Search) -> bool:
        for d in dirs:
            result.searched.append(f"{label} {d}")
            path = posixpath.join(d, name)
            real, entry = self.ld.resolve(path)
            if entry is None or not entry.is_file:
                continue
            # musl opens the first file of that name and stops, whatever it holds
            return self._try_file(path, name, f"found in {label} {d}", result)
        return False

    # -- what the loader does not see --

    def _libc(self) -> LoadedObject | None:
        for obj in self.objects:
            if obj.info.soname == "libc.so.6" or obj.path.endswith("/libc.so.6"):
                return obj
        return None

    def _importers(self, functions: frozenset[str] | dict) -> list[tuple[LoadedObject, list[str]]]:
        out = []
        for obj in list(self.objects):
            hits = sorted(n for n in obj.info.undefined if n in functions)
            if hits:
                out.append((obj, hits))
        return out

    def _dlopen(self, name: str, caller: LoadedObject, category: str, reason: str, optional: bool,
                quiet_missing: bool = False) -> None:
        """A dlopen by `caller`: the object and its own dependencies, in this process."""
        start = len(self.objects)
        obj = self.load(name, caller, category, reason, optional, quiet_missing or optional)
        if obj is None:
            return
        queue = self.objects[start:]
        i = 0
        while i < len(queue):
            cur = queue[i]
            i += 1
            for dep in cur.info.needed:
                before = len(self.objects)
                new = self.load(dep, cur, category, f"DT_NEEDED {dep} of {cur.path}", optional)
                if new is not None:
                    queue.extend(self.objects[before:])

    def _extras(self) -> None:
        glibc = self.rules.libc == "glibc"
        libc = self._libc()
        caller = libc or self.main
        # libgcc_s for unwinding
        if glibc:
            users = self._importers(extras.LIBGCC_S_FUNCTIONS)
            if users:
                obj, names = users[0]
                self._dlopen(extras.LIBGCC_S, caller, "libgcc_s",
                             f"glibc dlopens {extras.LIBGCC_S} to unwind for {', '.join(names)} "
                             f"(imported by {obj.path})", optional=False)
        self._nss(glibc, libc, caller)
        # iconv
        if glibc:
            users = self._importers(extras.ICONV_FUNCTIONS)
            if users and self.ld.gconv.policy != "none":
                self.tree.items.extend(self.ld.gconv.items(self.rules, libc, users))
        # literal names given to dlopen
        if self.ld.dlopen_names:
            for obj, names in self._importers(extras.DLOPEN_FUNCTIONS):
                label = obj.info.soname or posixpath.basename(obj.path)
                for lib in self.ld.dlopen_strings(obj.entry, obj.info):
                    if lib == obj.info.soname or lib in self.by_name:
                        continue
                    if any(fnmatch.fnmatchcase(label, a) and fnmatch.fnmatchcase(posixpath.basename(lib), b)
                           for a, b in extras.DLOPEN_IGNORE):
                        continue
                    self._dlopen(lib, obj, "dlopen-name",
                                 f"dlopen name {lib!r} in {obj.path} (it imports {', '.join(names)})",
                                 optional=True, quiet_missing=True)
        # plugin directories of well-known libraries
        for obj in list(self.objects):
            label = obj.info.soname or posixpath.basename(obj.path)
            for rule in self.ld.known_dlopen:
                if fnmatch.fnmatchcase(label, rule.soname):
                    base = rule.pattern if rule.pattern.startswith("/") else posixpath.join(
                        posixpath.dirname(obj.real), rule.pattern)
                    for path in self.ld.fs.glob(base):
                        self._dlopen(path, obj, "dlopen-known", f"{rule.why}: loaded by {label} at run time",
                                     optional=True, quiet_missing=True)

    def _nss(self, glibc: bool, libc: LoadedObject | None, caller: LoadedObject) -> None:
        users = self._importers(extras.NSS_FUNCTIONS)
        if not users:
            return
        databases: dict[str, str] = {}  # database -> first importer's description
        functions: set[str] = set()
        for obj, names in users:
            functions.update(names)
            for n in names:
                for db in extras.NSS_FUNCTIONS[n]:
                    databases.setdefault(db, f"{n} imported by {obj.path}")
        for fn in sorted(functions):
            for path in extras.FUNCTION_FILES.get(fn, ()):
                self.emit(path, f"read by {fn}", "data", self.main.real, optional=True)
        if not glibc:
            for db, why in databases.items():
                for path in extras.MUSL_DATABASE_FILES.get(db, ()):
                    self.emit(path, f"{db} database read by musl ({why})", "data", self.main.real, optional=True)
            return
        conf = self.ld.nsswitch()
        self.emit(extras.NSSWITCH_CONF, f"NSS configuration ({next(iter(databases.values()))})", "nss-data",
                  self.main.real, optional=True)
        version = libc.info.glibc_version if libc is not None else None
        for db, why in databases.items():
            services = (conf or {}).get(db)
            if services is None and db in extras.NSS_FALLBACK_DB:
                services = (conf or {}).get(extras.NSS_FALLBACK_DB[db])
            if services is None:
                services = extras.NSS_DEFAULTS.get(db, extras.NSS_DEFAULT)
            for service in services:
                if service in ("files", "compat") and db in extras.NSS_FILES:
                    self.emit(extras.NSS_FILES[db], f"{db} database, service {service} ({why})", "nss-data",
                              self.main.real, optional=True)
                for (d, s), paths in extras.NSS_SERVICE_FILES.items():
                    if d == db and s in ("*", service):
                        for path in paths:
                            self.emit(path, f"{db} database, service {service} ({why})", "nss-data",
                                      self.main.real, optional=True)
                since = extras.NSS_BUILTIN_SINCE.get(service)
                if since is not None and version is not None and version >= since:
                    continue  # built into libc.so.6
                module = extras.NSS_MODULE.format(service=service)
                self._dlopen(module, caller, "nss",
                             f"NSS module for '{db}: {' '.join(services)}' in /etc/nsswitch.conf ({why}), "
                             f"dlopened by libc", optional=True)

    def _static_extras(self) -> None:
        """Static programs load nothing, but static glibc still reads NSS configuration (and may
        dlopen NSS modules), and Go's resolver reads the same files."""
        if not self.info.ro_ranges:
            return
        entry = self.main.entry
        data = b"".join(self.ld.fs.read(entry, size, off) for off, size in self.info.ro_ranges)
        if extras.STATIC_NSS_MARKER not in data:
            return
        for db in ("passwd", "group", "hosts", "services"):
            self.emit(extras.NSS_FILES[db], f"static binary {self.root} embeds NSS code reading /etc/nsswitch.conf",
                      "nss-data", self.root, optional=True)
        self.emit(extras.NSSWITCH_CONF, f"static binary {self.root} reads it", "nss-data", self.root, optional=True)
        self.emit("/etc/resolv.conf", f"static binary {self.root} resolves host names", "nss-data", self.root,
                  optional=True)
        if extras.STATIC_GLIBC_NSS_MARKER in data:
            self.tree.notes.append("static glibc binary: NSS modules other than files/dns are dlopened at run "
                                   "time and need the shared libc of the same glibc version")
