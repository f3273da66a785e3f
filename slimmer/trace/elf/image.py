"""Loader state shared by every program of one image (`ImageLoader`): parsed ELF facts by
content, the loader rules of each interpreter, /etc/ld.so.cache, ld.so.conf, nsswitch.conf,
hwcaps subdirectory probes, dlopen names and the literals of objects, each read once."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.elf import extras
from slimmer.trace.elf.arch import Arch, Libc, Rules, arch_for
from slimmer.trace.elf.ldcache import LD_SO_CACHE, LdCache, parse_ldcache
from slimmer.trace.elf.ldconf import read_ldconf
from slimmer.trace.elf.reader import ElfError, ElfInfo, library_names, parse_elf, read_strings
from slimmer.trace.elf.rodata import Literals, read_literals


class ImageLoader:
    """Loader state shared by every program of one image: caches keyed by content and path."""

    def __init__(self, fs: RootFS, env: Mapping[str, str] | None = None,
                 warn: Callable[[str | None, str], None] | None = None, cwd: str = "/",
                 dlopen_names: bool = True) -> None:
        self.fs = fs
        self.env = dict(env or {})
        self._warn = warn or (lambda path, msg: None)
        self.cwd = cwd
        self.dlopen_names = dlopen_names
        self._infos: dict[tuple[int, int], ElfInfo | ElfError] = {}
        self._resolved: dict[str, tuple[str, Entry | None]] = {}
        self._rules: dict[tuple, Rules] = {}
        self._system_dirs: dict[tuple[int, int], tuple[tuple[str, ...], str]] = {}
        self._subdirs: dict[tuple[str, tuple[str, ...] | None, tuple[str, ...]], tuple[tuple[str, str], ...]] = {}
        self._ldcache: LdCache | bool | None = False  # False: not read yet
        self._ldconf: list[str] | None = None
        self._nsswitch: dict[str, tuple[str, ...]] | None = None
        self._dlopen_strings: dict[tuple[int, int], list[str]] = {}
        self._literals: dict[tuple[int, int], Literals] = {}
        self._warned: set[tuple[str | None, str]] = set()

    # -- small shared helpers --

    def warn(self, path: str | None, message: str) -> None:
        """Pass a warning on once: every program of the image meets the same broken file."""
        if (path, message) not in self._warned:
            self._warned.add((path, message))
            self._warn(path, message)

    def resolve(self, path: str) -> tuple[str, Entry | None]:
        """Real path and entry of `path` (following symlinks inside the image), memoised."""
        hit = self._resolved.get(path)
        if hit is None:
            try:
                r = self.fs.resolve(path)
                hit = (r.path, r.entry)
            except SymlinkLoopError:
                hit = (path, None)
            self._resolved[path] = hit
        return hit

    def info(self, entry: Entry) -> ElfInfo:
        """Parsed ELF facts of a regular file, once per content. Raises ElfError."""
        key = entry.content_key
        hit = self._infos.get(key)
        if hit is None:
            try:
                hit = parse_elf(lambda off, size: self.fs.read(entry, size, off), entry.size)
            except ElfError as e:
                hit = e
            except Exception as e:  # struct errors on corrupt files
                hit = ElfError(f"corrupt ELF: {e}")
            self._infos[key] = hit
        if isinstance(hit, ElfError):
            raise hit
        return hit

    def read_text(self, path: str) -> str | None:
        """A configuration file of the image, None when it has none."""
        _real, entry = self.resolve(path)
        if entry is None or not entry.is_file:
            return None
        return self.fs.read(entry).decode("utf-8", "surrogateescape")

    # -- rules --

    def rules_for(self, info: ElfInfo, interp: str | None) -> Rules:
        """Loader rules for a program whose interpreter is `interp` (None: a library root)."""
        arch = arch_for(info)
        libc = Libc.GLIBC
        if interp is None:
            interp, libc = self._default_interp(info, arch)
        elif posixpath.basename(interp).startswith("ld-musl-"):
            libc = Libc.MUSL
        key = (libc, info.machine, info.elf_class, info.byteorder, interp)
        rules = self._rules.get(key)
        if rules is None:
            dirs: tuple[str, ...]
            if libc is Libc.MUSL:
                dirs, source = (), "musl"
            else:
                dirs, source = self._glibc_system_dirs(interp, arch, info)
            dst_lib = dirs[0].strip("/") if dirs else "lib"
            rules = self._rules[key] = Rules(libc, arch, info.elf_class, info.byteorder, info.machine, interp,
                                             dirs, source, dst_lib)
        return rules

    def _default_interp(self, info: ElfInfo, arch: Arch) -> tuple[str | None, Libc]:
        """The loader a library root would run under: told by its libc dependency, else by what
        the image has."""
        musl = arch.musl_interp
        if any(n.startswith("libc.musl-") or n == "libc.so" for n in info.needed):
            return musl, Libc.MUSL
        if "libc.so.6" in info.needed or self.resolve(arch.glibc_interp)[1] is not None:
            return arch.glibc_interp or None, Libc.GLIBC
        if self.resolve(musl)[1] is not None:
            return musl, Libc.MUSL
        return arch.glibc_interp or None, Libc.GLIBC

    def _glibc_system_dirs(self, interp: str | None, arch: Arch, info: ElfInfo) -> tuple[tuple[str, ...], str]:
        """ld.so's compiled-in search directories, read from the image's own ld.so when possible."""
        entry = self.resolve(interp)[1] if interp else None
        if entry is not None and entry.is_file:
            key = entry.content_key
            if key not in self._system_dirs:
                self._system_dirs[key] = (_read_system_dirs(self, entry), f"read from {interp}")
            dirs, source = self._system_dirs[key]
            if dirs:
                return dirs, source
        if any(self.resolve(f"{d}/{arch.triplet}")[1] is not None for d in ("/usr/lib", "/lib")):
            return (f"/lib/{arch.triplet}", f"/usr/lib/{arch.triplet}", "/lib", "/usr/lib"), "Debian multiarch table"
        if info.elf_class == 64 and arch.lib64:
            return ("/lib64", "/usr/lib64"), "lib64 table"
        return ("/lib", "/usr/lib"), "default table"

    # -- ld.so.cache / ld.so.conf --

    def ldcache(self) -> LdCache | None:
        """The image's /etc/ld.so.cache, None when it is absent or unreadable."""
        if self._ldcache is False:
            self._ldcache = None
            _real, entry = self.resolve(LD_SO_CACHE)
            if entry is not None and entry.is_file:
                try:
                    self._ldcache = parse_ldcache(self.fs.read(entry))
                except Exception as e:  # LdCacheError, struct errors: a corrupt cache is ignored by ld.so too
                    self.warn(LD_SO_CACHE, f"unreadable ld.so.cache ignored: {e}")
        return self._ldcache  # type: ignore[return-value]

    def ldconf_dirs(self) -> list[str]:
        """Directories of /etc/ld.so.conf and its includes, in order."""
        if self._ldconf is None:
            self._ldconf = read_ldconf(self.fs)
        return self._ldconf

    def nsswitch(self) -> dict[str, tuple[str, ...]] | None:
        """Parsed /etc/nsswitch.conf, None when the image has none (glibc then uses defaults)."""
        if self._nsswitch is None:
            text = self.read_text(extras.NSSWITCH_CONF)
            self._nsswitch = extras.parse_nsswitch(text) if text is not None else False  # type: ignore[assignment]
        return self._nsswitch or None

    # -- directory probing --

    def subdirs(self, directory: str, rules: Rules) -> tuple[tuple[str, str], ...]:
        """hwcap subdirectories of `directory` that exist and that this ld.so may search before
        the directory itself, in its order: (subdir, description)."""
        arch = rules.arch
        key = (directory, arch.hwcaps, arch.legacy_hwcaps + arch.platforms)
        hit = self._subdirs.get(key)
        if hit is not None:
            return hit
        found: list[tuple[str, str]] = []
        real, entry = self.resolve(directory)
        if entry is not None and entry.is_dir:
            children = set(self.fs.listdir(real))
            if "glibc-hwcaps" in children:
                present = self.fs.listdir(posixpath.join(real, "glibc-hwcaps"))
                order = arch.hwcaps if arch.hwcaps is not None else tuple(sorted(present))
                for name in order:
                    if name in present:
                        found.append((f"glibc-hwcaps/{name}", f"glibc-hwcaps {name}"))
            legacy = set(("tls",) + arch.legacy_hwcaps + arch.platforms)
            if children & legacy:
                for sub in self._legacy(real, legacy, ""):
                    found.append((sub, f"legacy hwcap subdirectory {sub}"))
        self._subdirs[key] = hit = tuple(found)
        return hit

    def _legacy(self, real: str, names: set[str], prefix: str, depth: int = 0) -> list[str]:
        """Nested legacy hwcap directories (tls/x86_64/haswell ...), deepest first like ld.so."""
        out: list[str] = []
        if depth >= 3:
            return out
        for name in self.fs.listdir(posixpath.join(real, prefix) if prefix else real):
            if name in names and (name != "tls" or depth == 0):
                sub = f"{prefix}/{name}" if prefix else name
                _sub_real, e = self.resolve(posixpath.join(real, sub))
                if e is not None and e.is_dir:
                    out.extend(self._legacy(real, names, sub, depth + 1))
                    out.append(sub)
        return out

    # -- dlopen-by-name strings --

    def dlopen_strings(self, entry: Entry, info: ElfInfo) -> list[str]:
        """Library names (extras.DLOPEN_NAME) among the object's strings, first seen first."""
        key = entry.content_key
        hit = self._dlopen_strings.get(key)
        if hit is None:
            raw = library_names(lambda off, size: self.fs.read(entry, size, off), info, extras.DLOPEN_NAME)
            hit = self._dlopen_strings[key] = list(dict.fromkeys(b.decode("utf-8", "surrogateescape") for b in raw))
        return hit

    def literals(self, entry: Entry, info: ElfInfo) -> Literals:
        """The object's C strings (and Go string data), once per content."""
        key = entry.content_key
        hit = self._literals.get(key)
        if hit is None:
            hit = self._literals[key] = read_literals(lambda off, size: self.fs.read(entry, size, off), info)
        return hit


def _read_system_dirs(loader: ImageLoader, entry: Entry) -> tuple[str, ...]:
    """The NUL-separated list of system directories compiled into ld.so ("/lib/x86_64-linux-gnu/\\0...")."""
    try:
        info = loader.info(entry)
    except ElfError:
        return ()
    pattern = re.compile(rb"(?<=\0)((?:/[\w.+-]+(?:/[\w.+-]+)*/\0){2,})")
    for match in read_strings(lambda off, size: loader.fs.read(entry, size, off), info, pattern):
        dirs = [d.decode() for d in match.split(b"\0") if d]
        if all("lib" in d for d in dirs):
            return tuple(d.rstrip("/") or "/" for d in dirs)
    return ()
