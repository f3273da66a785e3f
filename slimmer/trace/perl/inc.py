"""`@INC`: where the image's perl looks for modules, derived from the interpreter itself.

perl compiles its library directories into its binary (or into libperl, when it links one);
they are read from there, so a Debian perl, a perl built into /usr/local and Alpine's each get
their own. Only directories that exist in the image are kept: a missing one can hold nothing.
The order is perl.c's (`-I`, `PERL5LIB`, then the compiled-in list: Debian's `/etc/perl`, site,
vendor, Debian's `perl-base`, core, and the unversioned `site_perl` last), recognised by the
shape of each path; it matters only for a module that more than one directory holds. It is
exact for Debian's perl (a test compares it with the real `@INC`) and a guess for other layouts.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.elf.reader import ElfError, parse_elf, read_strings

_ABSOLUTE_PATH = re.compile(rb"\0(/[\w.+-]+(?:/[\w.+-]+)+)/?(?=\0)")
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")
_ARCH = re.compile(r"x86_64|aarch64|i[3-6]86|arm|-linux")
_LIBPERL = re.compile(r"libperl\.so(?:\.[\d.]+)?")
_LIBRARY_DIRS = ("/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib")


@dataclass(frozen=True)
class Inc:
    """The module search path of one running program, and what `FindBin` would report."""

    dirs: tuple[str, ...]
    script_dir: str | None = None  # $FindBin::Bin / $FindBin::RealBin
    core: tuple[str, ...] = ()  # real paths of perl's own library (see `core_dirs`)

    def with_lib(self, dirs: list[str]) -> Inc:
        """`use lib` puts its directories first (each once)."""
        return Inc(tuple(dict.fromkeys([*dirs, *self.dirs])), self.script_dir, self.core)

    def in_core(self, path: str) -> bool:
        return any(path.startswith(d + "/") for d in self.core)


def compiled_inc(fs: RootFS, perl: str) -> tuple[str, ...]:
    """The interpreter's built-in `@INC` that exists in the image, in perl's search order."""
    found: list[str] = []
    for path in (perl, *_libperl(fs, perl)):
        entry = _file(fs, path)
        if entry is None:
            continue
        for raw in _strings(fs, entry):
            directory = raw.decode("utf-8", "surrogateescape")
            if "perl" in directory and _is_dir(fs, directory):
                found.append(directory)
    return tuple(sorted(dict.fromkeys(found), key=_rank))


def core_dirs(fs: RootFS, compiled: tuple[str, ...]) -> tuple[str, ...]:
    """Perl's own library (Debian's perl-base, archlib, privlib), as real paths. Its modules serve
    every platform, so their branches for other systems name modules and programs that are
    rightly absent, and their run-time loads are those the statement table resolves at the call
    site (`use parent`, `use if`): the tracer keeps what they load but does not warn about them,
    and does not follow the programs they run."""
    found = []
    for directory in compiled:
        if _rank(directory)[0] in (3, 4):
            try:
                found.append(fs.resolve(directory).path)
            except SymlinkLoopError:
                continue
    return tuple(found)


def environment_dirs(env: dict[str, str] | None) -> list[str]:
    """`PERL5LIB` (or, without it, `PERLLIB`): searched before the built-in list."""
    env = env or {}
    value = env.get("PERL5LIB", env.get("PERLLIB", ""))
    return [d for d in value.split(":") if d]


def _rank(directory: str) -> tuple[int, int]:
    """Position of a compiled-in directory in perl.c's order, by its shape; arch dirs first."""
    parts = directory.split("/")
    versioned = any(_VERSION.fullmatch(p) for p in parts)
    if directory.startswith("/etc/"):
        group = 0  # APPLLIB_EXP (Debian: /etc/perl)
    elif "site_perl" in parts and not versioned and "perl5" not in parts:
        group = 6  # otherlibdirs (Debian: /usr/local/lib/site_perl)
    elif "site_perl" in parts or (directory.startswith("/usr/local/") and "perl5" not in parts):
        group = 1  # site (Debian: /usr/local/{lib/ARCH,share}/perl/V)
    elif "core_perl" in parts:
        group = 4  # Alpine's core
    elif "vendor_perl" in parts or ("perl5" in parts and not directory.startswith("/usr/local/")):
        group = 2  # vendor (Debian: /usr/lib/ARCH/perl5/V, /usr/share/perl5)
    elif "perl-base" in parts:
        group = 3  # Debian's essential modules
    else:
        group = 4  # core (archlib, privlib)
    return group, 0 if _ARCH.search(directory) else 1 if "/lib/" in directory else 2


def _libperl(fs: RootFS, perl: str) -> list[str]:
    """A perl that links libperl keeps its @INC there."""
    entry = _file(fs, perl)
    if entry is None:
        return []
    try:
        info = parse_elf(lambda off, size: fs.read(entry, size, off), entry.size)
    except (ElfError, ValueError):
        return []
    names = [n for n in info.needed if _LIBPERL.fullmatch(n)]
    return [posixpath.join(d, n) for n in names for d in _LIBRARY_DIRS if _file(fs, posixpath.join(d, n))]


def _strings(fs: RootFS, entry: Entry) -> list[bytes]:
    try:
        info = parse_elf(lambda off, size: fs.read(entry, size, off), entry.size)
    except (ElfError, ValueError):
        return []
    return read_strings(lambda off, size: fs.read(entry, size, off), info, _ABSOLUTE_PATH)


def _file(fs: RootFS, path: str) -> Entry | None:
    try:
        entry = fs.lookup(path)
    except SymlinkLoopError:
        return None
    return entry if entry is not None and entry.type is EntryType.FILE else None


def _is_dir(fs: RootFS, path: str) -> bool:
    try:
        entry = fs.lookup(path)
    except SymlinkLoopError:
        return False
    return entry is not None and entry.type is EntryType.DIR
