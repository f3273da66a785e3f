"""What dpkg knows about the image: the installed packages (/var/lib/dpkg/status: name, source
package, conffiles) and the paths each one installed (/var/lib/dpkg/info/PKG[:ARCH].list).

dpkg lists paths as the package ships them; on a merged-/usr system `/lib/x86_64-linux-gnu/x`
is really `/usr/lib/x86_64-linux-gnu/x`, so every listed path is taken to its real directory
(the last component is kept as it is: it may be a symlink of its own).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import cached_property

from slimmer.rootfs.fs import RootFS, SymlinkLoopError

STATUS = "/var/lib/dpkg/status"
INFO_DIR = "/var/lib/dpkg/info"
MAX_DATABASE_BYTES = 256 << 20


@dataclass(frozen=True)
class Package:
    """One installed package."""

    name: str
    source: str  # the source package it was built from (its own name when the status says none)
    conffiles: tuple[str, ...]  # real paths


class DpkgDatabase:
    """The dpkg database of one image, read on first use (an image without dpkg has none)."""

    def __init__(self, fs: RootFS) -> None:
        self.fs = fs
        self._real_dirs: dict[str, str] = {}

    @cached_property
    def packages(self) -> dict[str, Package]:
        """Installed packages by name."""
        text = self._read(STATUS)
        found: dict[str, Package] = {}
        for paragraph in text.split("\n\n"):
            fields = _fields(paragraph)
            name = fields.get("package", "")
            if not name or not fields.get("status", "").endswith(" installed"):
                continue
            source = fields.get("source", "").split(" ", 1)[0] or name
            conffiles = tuple(self.real(line.split()[0]) for line in fields.get("conffiles", "").splitlines()
                              if line.strip() and not line.rstrip().endswith(" obsolete"))
            found[name] = Package(name, source, conffiles)
        return found

    @cached_property
    def _lists(self) -> dict[str, tuple[str, ...]]:
        """Package name -> the real paths it installed, directories included."""
        lists: dict[str, tuple[str, ...]] = {}
        for name in self.fs.listdir(INFO_DIR):
            if not name.endswith(".list"):
                continue
            package = name[:-len(".list")].split(":", 1)[0]
            paths = [self.real(line) for line in self._read(posixpath.join(INFO_DIR, name)).splitlines()
                     if line.startswith("/") and line != "/."]
            lists[package] = tuple(dict.fromkeys(paths))
        return lists

    @cached_property
    def _owners(self) -> dict[str, tuple[str, ...]]:
        owners: dict[str, list[str]] = {}
        for package, paths in sorted(self._lists.items()):
            for path in paths:
                owners.setdefault(path, []).append(package)
        return {path: tuple(names) for path, names in owners.items()}

    def owners(self, path: str) -> tuple[str, ...]:
        """Packages that list the (real) path."""
        return self._owners.get(path, ())

    def owner(self, path: str) -> Package | None:
        """The package a file belongs to (None for a directory several packages share)."""
        names = self.owners(path)
        if len(names) != 1:
            return None
        return self.packages.get(names[0])

    def paths(self, package: str) -> tuple[str, ...]:
        return self._lists.get(package, ())

    def real(self, path: str) -> str:
        """Where a listed path really is: its directory resolved in the image."""
        directory, name = posixpath.split(posixpath.normpath(path))
        real_dir = self._real_dirs.get(directory)
        if real_dir is None:
            try:
                real_dir = self.fs.resolve(directory).path
            except SymlinkLoopError:
                real_dir = directory
            self._real_dirs[directory] = real_dir
        return posixpath.join(real_dir, name)

    def _read(self, path: str) -> str:
        entry = self.fs.lookup(path)
        if entry is None or not entry.is_file:
            return ""
        return self.fs.read(entry, MAX_DATABASE_BYTES).decode("utf-8", "surrogateescape")


def _fields(paragraph: str) -> dict[str, str]:
    """The fields of one deb822 paragraph (names lower case; continuation lines joined by "\\n")."""
    fields: dict[str, str] = {}
    current = None
    for line in paragraph.splitlines():
        if line[:1] in (" ", "\t") and current is not None:
            fields[current] += "\n" + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            current = name.strip().lower()
            fields[current] = value.strip()
    return fields
