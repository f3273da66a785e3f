"""Paths compiled into programs: an absolute path among an object's strings (or in a Go
program's string data) that exists in the image is opened by its code: a file is kept, a
directory is kept as a directory (owner and mode), its content only when the table below says
the program reads it. A path that does not exist yet is one the program creates (a pid file, a
log, a temporary directory): the directory it goes into must exist, with its owner and mode.

The C library, the dynamic loader and the libraries of the data rules (OpenSSL, GnuTLS,
libmagic) are left out: what they read by fixed path (NSS files, the zone, locales, gconv, the
trust store) depends on the functions a program calls, which other rules follow.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import strip_version
from slimmer.trace.datarules import DATA_RULES
from slimmer.trace.elf.reader import ET_DYN, ET_EXEC
from slimmer.trace.elf.rodata import Literals, glued_names
from slimmer.trace.elf.tracer import ElfTracer
from slimmer.trace.namedfiles import is_virtual, link_to_virtual
from slimmer.trace.paths.registry import Readers

# the C library and loaders (their own paths are followed by the rules for what programs call)
RUNTIME = ("libc.so.6", "ld-linux*.so*", "ld64.so*", "ld-musl-*.so*", "libc.musl-*.so*")
# what glibc compiles in (2.36), found again in every static glibc program: left to those rules too
GLIBC_PATHS = (
    "/bin/sh", "/bin/csh", "/etc", "/etc/.pwd.lock", "/etc/aliases", "/etc/ethers", "/etc/fstab", "/etc/gai.conf",
    "/etc/group", "/etc/gshadow", "/etc/host.conf", "/etc/hostid", "/etc/hosts", "/etc/hosts.equiv",
    "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime", "/etc/mtab", "/etc/netgroup", "/etc/networks",
    "/etc/nsswitch.conf", "/etc/passwd", "/etc/protocols", "/etc/resolv.conf", "/etc/rpc", "/etc/services",
    "/etc/shadow", "/etc/shells", "/etc/suid-debug", "/etc/ttys", "/lib", "/lib/*-linux-*", "/lib64/ld-*", "/tmp",
    "/usr", "/usr/lib", "/usr/lib/*-linux-*", "/usr/lib/*-linux-*/gconv*", "/usr/lib/getconf", "/usr/lib/locale*",
    "/usr/share/locale", "/usr/share/zoneinfo", "/var/log/wtmp*", "/var/profile", "/var/run/*", "/var/tmp",
)
# paths an interpreter opens only when the code it runs asks, kept by the tracer of that code:
# perl runs /bin/sh for a command string with shell metacharacters (its Perl tracer sees them)
LEFT_TO_LANGUAGE: dict[str, tuple[str, ...]] = {"perl": ("/bin/sh",)}


@dataclass(frozen=True)
class DataDirectory:
    """A compiled-in directory a program reads (patterns on real paths; `*` stays within one
    path component): what it holds, but for `leave`, or only `only` when given. `follow`: its
    text files name what the program loads (SQL naming `$libdir` modules), unlike a database
    (dpkg's status names every conffile of the system)."""

    program: str
    directory: str
    why: str
    leave: tuple[str, ...] = ()  # names in it that are not data (documentation)
    only: tuple[str, ...] = ()
    follow: bool = True


DATA_DIRECTORIES: tuple[DataDirectory, ...] = (
    DataDirectory("/usr/lib/postgresql/*/bin/*", "/usr/share/postgresql/*",
                  "PostgreSQL's share directory: bootstrap catalog, SQL scripts, time zone sets, text search "
                  "data, extensions", leave=("man",)),
    DataDirectory("/usr/bin/dpkg*", "/var/lib/dpkg",
                  "dpkg's database: the packages' status (info/ is read only to list or search their files)",
                  only=("status", "arch", "diversions", "statoverride", "triggers", "updates"), follow=False),
)


class CompiledPathsTracer:
    """Tracer plug-in for the paths compiled into kept ELF objects."""

    name = "compiled-in"

    def __init__(self, elf: ElfTracer, readers: Readers, table: tuple[DataDirectory, ...] = DATA_DIRECTORIES) -> None:
        self.elf = elf
        self.readers = readers
        self.table = table

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        info = self.elf.object_info(entry, ctx)
        if info is None:
            return []
        label = info.soname or posixpath.basename(path)
        if info.type not in (ET_EXEC, ET_DYN) or any(fnmatch.fnmatchcase(label, p) for p in RUNTIME):
            return []
        if any(r.library is not None and r.library.search(path) for r in DATA_RULES):
            return []
        literals = self.elf.loader(ctx).literals(entry, info)
        static = info.interp is None and not info.needed
        left = LEFT_TO_LANGUAGE.get(strip_version(posixpath.basename(path)), ())
        needs: list[Need] = []
        for named in (_go_paths(literals, ctx.fs) if literals.go else literals.paths):
            named = posixpath.normpath(named)
            if static and not literals.go and any(fnmatch.fnmatchcase(named, p) for p in GLIBC_PATHS):
                continue
            if named in left:
                continue
            needs += self._named(path, named, ctx, guessed=literals.go)
        if not literals.go:
            for pattern in literals.globs:
                needs += self._listed(path, posixpath.normpath(pattern), ctx)
        return needs

    def _listed(self, program: str, pattern: str, ctx: TraceContext) -> list[Need]:
        """A glob compiled in: the program lists its directory (which must exist, even empty)
        and reads what matches."""
        directory = posixpath.dirname(pattern)
        if directory == "/" or is_virtual(directory):
            return []
        if not _is_dir(ctx.fs, directory):
            return []
        why = f"listed by the glob {pattern} compiled into {program}"
        return [Need(directory, f"directory {why}", optional=True, rule="compiled-in")] + [
            Need(match, why, optional=True, rule="compiled-in") for match in ctx.fs.glob(pattern)]

    def _named(self, program: str, named: str, ctx: TraceContext, guessed: bool) -> list[Need]:
        if named == "/" or is_virtual(named):
            return []
        try:
            resolved = ctx.fs.resolve(named)
        except SymlinkLoopError:
            return []
        if link_to_virtual(resolved):
            return [Need(named, f"path compiled into {program}, a symlink to {resolved.path}", optional=True,
                         rule="compiled-in", data=True)]
        if resolved.entry is None:
            return [] if guessed else _missing(program, named, ctx.fs)
        self.readers.add(program, resolved.path, resolved.entry.is_dir)
        if not resolved.entry.is_dir:
            return [Need(named, f"path compiled into {program}", optional=True, rule="compiled-in")]
        for data in self.table:
            if PurePosixPath(program).match(data.program) and PurePosixPath(resolved.path).match(data.directory):
                if data.follow:
                    self.readers.data_directories.add(resolved.path)
                return [Need(named, f"{data.why} (compiled into {program})", optional=True, rule="compiled-in")] + [
                    Need(posixpath.join(named, name), f"{data.why} (compiled into {program})", recursive=True,
                         optional=True, rule="compiled-in")
                    for name in ctx.fs.listdir(resolved.path)
                    if name not in data.leave and (not data.only or name in data.only)]
        return [Need(named, f"directory compiled into {program}", optional=True, rule="compiled-in")]


def _missing(program: str, named: str, fs: RootFS) -> list[Need]:
    """A path the program creates: the directory it goes into, as the image has it."""
    parent = posixpath.dirname(named)
    while parent != "/":
        entry = fs.lookup(parent)
        if entry is not None:
            if not entry.is_dir:
                return []
            return [Need(parent, f"directory of {named}, which {program} creates (compiled in)", optional=True,
                         rule="compiled-in")]
        parent = posixpath.dirname(parent)
    return []


def _go_paths(literals: Literals, fs: RootFS) -> list[str]:
    """Existing paths in a Go program's string data, found from the top-level directories."""
    starts = [f"/{name}/" for name in fs.listdir("/") if not is_virtual(f"/{name}") and _is_dir(fs, f"/{name}")]

    def children(prefix: str) -> list[str]:
        return [n + "/" if _is_dir(fs, posixpath.join(prefix, n)) else n for n in fs.listdir(prefix)]

    return sorted(n.rstrip("/") for n in glued_names(literals.data, starts, children))


def _is_dir(fs: RootFS, path: str) -> bool:
    entry = fs.lookup(path)
    return entry is not None and entry.is_dir
