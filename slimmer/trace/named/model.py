"""The row type of the table of data chosen by name: who loads it, where from, how the names
are found; and the catalog each row builds of one image (what its names are, what files a name
selects, what "all of it" means)."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from slimmer.rootfs.fs import RootFS
from slimmer.trace.elf.rodata import Literals


@dataclass(frozen=True)
class Loaders:
    """Who loads a data set.

    imports: an object importing one of these functions is a loader (glibc's `tzset`).
    sonames: a library matching one of these (fnmatch, on its soname or file name) is one.
    go_functions: a Go program linking one of these is one ("time.LoadLocation").
    own: the libraries whose code is the loader: a path of the data set compiled into them is
        their default, while in any other object it means the object reads the set itself, by
        names that come from its input (postgres' time zones, `locale -a`): all of it is kept.
    any_name: objects that take the names from their input (fnmatch on soname or file name).
    passing: libraries that pass names their callers give them (libunistring): their own
        strings are tables, not names they load.
    env_libraries: libraries that load the set once the Env gives it a name (glibc converts
        to the charset of the locale LANG selects).
    programs: `imports` count in programs only, not in libraries that link the API for a
        feature their callers may never use (libldap links SASL, which libcurl's users rarely
        need: its plugins are kept for programs that authenticate with it themselves).
    """

    imports: frozenset[str] = frozenset()
    sonames: tuple[str, ...] = ()
    go_functions: frozenset[str] = frozenset()
    own: tuple[str, ...] = ()
    any_name: tuple[str, ...] = ()
    passing: tuple[str, ...] = ()
    env_libraries: tuple[str, ...] = ()
    programs: bool = False

    @staticmethod
    def matches(label: str, patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(label, p) for p in patterns)


@dataclass(frozen=True)
class NameSources:
    """Where the names come from.

    env: variables of the image's Env whose values are names (TZ, LANG, TERM).
    strings: whole C strings of the loading objects (what `iconv_open("EUC-JP", ...)` compiles to).
    go_strings: string data of Go programs that load the set.
    script_words: words of kept shell scripts (`TZ=Asia/Tokyo date`, loop words).
    config: words of the set's own configuration files (openssl.cnf names its providers).
    configuration: words of any kept configuration file under /etc (postgresql.conf's
        `timezone = 'Europe/Paris'` and `lc_messages = 'C.UTF-8'`).
    """

    env: tuple[str, ...] = ()
    strings: bool = False
    go_strings: bool = False
    script_words: bool = False
    config: bool = False
    configuration: bool = False


class Catalog:
    """What one data set is in one image; each set's subclass knows its names and files."""

    def directories(self) -> list[str]:
        """Where the data lives (a loader outside `Loaders.own` naming one reads it by any name)."""
        return []

    def name(self, word: str) -> str | None:
        """The name `word` stands for, when it is one of the set's names."""
        raise NotImplementedError

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        """(path, name, why) of what these names select ("" for why: the name says it)."""
        raise NotImplementedError

    def always(self) -> list[tuple[str, str]]:
        """(path, why) kept whenever the set is loaded at all (configuration, an index)."""
        return []

    def everything(self) -> list[str]:
        """Paths of the whole set (directories with what they hold), for loaders whose names
        come from their input."""
        return []

    def config_files(self) -> list[str]:
        """The set's own configuration files, read for names when `NameSources.config`."""
        return []

    def glued(self, data: bytes) -> list[str]:
        """Names in Go string data (`NameSources.go_strings`)."""
        return []


@dataclass(frozen=True)
class ImageView:
    """What a catalog may read: the files, the image's Env, and the literals of an object."""

    fs: RootFS
    env: Mapping[str, str]
    literals: Callable[[str], Literals | None]  # by path: None when it is not a usable ELF object
    home: str | None = None  # the container user's home directory

    def exists(self, path: str) -> bool:
        return self.fs.lookup(path) is not None

    def is_dir(self, path: str) -> bool:
        entry = self.fs.lookup(path)
        return entry is not None and entry.is_dir

    def read_text(self, path: str) -> str | None:
        entry = self.fs.lookup(path)
        if entry is None or not entry.is_file:
            return None
        return self.fs.read(entry).decode("utf-8", "surrogateescape")

    def walk_files(self, top: str) -> list[str]:
        """Non-directories under `top` (resolved), as paths under `top` as given."""
        real = self.fs.resolve(top).path
        out = []
        for entry in self.fs.walk(real):
            if not entry.is_dir:
                out.append(posixpath.join(top, posixpath.relpath(entry.path, real)))
        return out


@dataclass(frozen=True)
class DataSet:
    """One row of the table: a kind of data some code picks by name at run time."""

    key: str  # "zoneinfo", "gconv", ...
    what: str  # "time zone": how reasons name one item
    loaders: Loaders
    names: NameSources
    catalog: Callable[[ImageView], Catalog]
    word_filter: Callable[[str], bool] | None = None  # which strings may stand for names
    env_default: tuple[tuple[str, str], ...] = field(default=())  # (name, why) used when loaded at all
    whole: bool = False  # loaded means all of it (plugins the configuration lists at run time)
    follows: str | None = None  # key of a set whose loaded items load this one, by their names too
