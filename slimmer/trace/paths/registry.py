"""Who reads what: the directories and files compiled into each kept program, so that
configuration and data files it reads can be resolved the way it resolves them (a relative
`include` against its prefix, `$libdir/plpgsql` against its library directory)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.trace.dpkg.database import DpkgDatabase

# directories every package shares: named by a program or its configuration, only they are
# kept, not what they hold
SHARED_DIRECTORIES = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt",
    "/proc", "/root", "/run", "/run/lock", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/include",
    "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/local", "/usr/local/bin", "/usr/local/etc",
    "/usr/local/lib", "/usr/local/sbin", "/usr/local/share", "/usr/sbin", "/usr/share", "/usr/share/doc",
    "/usr/share/locale", "/usr/share/man", "/usr/src", "/var", "/var/backups", "/var/cache", "/var/lib",
    "/var/local", "/var/lock", "/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp",
    "/var/www",
})


@dataclass
class Readers:
    """Compiled-in paths of the kept programs, and the data directories kept whole."""

    packages: DpkgDatabase
    named_by: dict[str, set[str]] = field(default_factory=dict)  # real path -> objects naming it
    directories: dict[str, list[str]] = field(default_factory=dict)  # object -> its compiled-in directories
    data_directories: set[str] = field(default_factory=set)  # kept whole for a program, their text followed

    def add(self, reader: str, real: str, is_dir: bool) -> None:
        self.named_by.setdefault(real, set()).add(reader)
        if is_dir:
            self.directories.setdefault(reader, [])
            if real not in self.directories[reader]:
                self.directories[reader].append(real)

    def readers_of(self, path: str) -> set[str]:
        """Objects that name `path` or a directory above it."""
        found: set[str] = set()
        current = path
        while True:
            found |= self.named_by.get(current, set())
            if current == "/":
                return found
            current = posixpath.dirname(current)

    def search_directories(self, path: str) -> list[str]:
        """Where a relative name in the file at `path` may be: beside it, then the compiled-in
        directories of the programs that read it."""
        found = [posixpath.dirname(path)]
        for reader in sorted(self.readers_of(path)):
            found += [d for d in self.directories.get(reader, ()) if d not in SHARED_DIRECTORIES]
        return list(dict.fromkeys(found))

    def in_data_directory(self, path: str) -> bool:
        return any(path.startswith(d + "/") for d in self.data_directories)

    def private(self, directory: str) -> bool:
        """A directory one package (or none) installed, which is not one of the shared ones:
        what it holds is the program's own data."""
        return directory not in SHARED_DIRECTORIES and len(self.packages.owners(directory)) <= 1
