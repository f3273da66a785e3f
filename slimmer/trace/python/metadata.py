"""Distributions' metadata (`*.dist-info`, `*.egg-info`): which one owns a kept module, which
one a name (`importlib.metadata.version("x")`) means, and the entry points of a group.

`importlib.metadata` finds distributions in every `sys.path` folder; a wheel's RECORD lists
the files it installed (relative to that folder), Debian's egg-info has `top_level.txt`.
"""

from __future__ import annotations

import configparser
import posixpath
import re
from dataclasses import dataclass, field

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import RootFS

_METADATA_DIR = re.compile(r"^(?P<name>[^-]+)(-[^/]*)?\.(dist-info|egg-info)$")


def normalise(name: str) -> str:
    """PEP 503 name normalisation, with `_` as importlib.metadata uses in folder names."""
    return re.sub(r"[-_.]+", "_", name).lower()


@dataclass
class Distribution:
    name: str  # as written in the folder name, normalised
    path: str  # the .dist-info / .egg-info folder (or file)
    files: set[str] = field(default_factory=set)  # absolute paths it installed
    top_level: set[str] = field(default_factory=set)  # first path parts it installed under its folder


class DistributionIndex:
    """Distributions of the folders of one sys.path, read when first asked about."""

    def __init__(self, fs: RootFS, folders: list[str]) -> None:
        self.fs = fs
        self.folders = folders
        self._by_folder: dict[str, list[Distribution]] = {}

    def in_folder(self, folder: str) -> list[Distribution]:
        found = self._by_folder.get(folder)
        if found is None:
            found = self._by_folder[folder] = self._read_folder(folder)
        return found

    def owner(self, path: str) -> Distribution | None:
        """The distribution that installed `path` (a file under one of the folders)."""
        for folder in self.folders:
            if not path.startswith(folder.rstrip("/") + "/"):
                continue
            relative = path[len(folder.rstrip("/")) + 1:]
            top = relative.split("/", 1)[0]
            for dist in self.in_folder(folder):
                if path in dist.files or top in dist.top_level:
                    return dist
        return None

    def named(self, name: str) -> Distribution | None:
        wanted = normalise(name)
        for folder in self.folders:
            for dist in self.in_folder(folder):
                if dist.name == wanted:
                    return dist
        return None

    def entry_points(self, group: str) -> list[tuple[Distribution, str]]:
        """(distribution, module) of every entry point of `group` on the path."""
        return [(dist, module) for folder in self.folders for dist in self.in_folder(folder)
                for module in self.entry_point_modules(dist, group).values()]

    def entry_point_modules(self, dist: Distribution, group: str) -> dict[str, str]:
        """Entry point name -> the module it loads, of one distribution's `group`."""
        text = self._read(posixpath.join(dist.path, "entry_points.txt"))
        if not text:
            return {}
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(text)
        except configparser.Error:
            return {}
        if not parser.has_section(group):
            return {}
        return {name: value.split(":", 1)[0].strip() for name, value in parser.items(group)}

    def _read(self, path: str) -> str | None:
        entry = self.fs.lookup(path)
        if entry is None or not entry.is_file:
            return None
        return self.fs.read(entry).decode("utf-8", "replace")

    def _read_folder(self, folder: str) -> list[Distribution]:
        found = []
        for name in self.fs.listdir(folder):
            match = _METADATA_DIR.match(name)
            if not match:
                continue
            path = posixpath.join(folder, name)
            dist = Distribution(normalise(match.group("name")), path)
            entry = self.fs.lookup(path)
            if entry is not None and entry.type is EntryType.DIR:
                self._read_files(folder, dist)
            found.append(dist)
        return found

    def _read_files(self, folder: str, dist: Distribution) -> None:
        record = self._read(posixpath.join(dist.path, "RECORD"))
        if record:
            for line in record.splitlines():
                relative = line.rsplit(",", 2)[0] if line.count(",") >= 2 else line
                if relative:
                    dist.files.add(posixpath.normpath(posixpath.join(folder, relative)))
        installed = self._read(posixpath.join(dist.path, "installed-files.txt"))
        for line in (installed or "").splitlines():
            if line.strip():
                dist.files.add(posixpath.normpath(posixpath.join(dist.path, line.strip())))
        top_level = self._read(posixpath.join(dist.path, "top_level.txt"))
        if top_level and not record:
            dist.top_level.update(line.strip() for line in top_level.splitlines() if line.strip())
