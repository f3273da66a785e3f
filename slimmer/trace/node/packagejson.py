"""package.json files as Node reads them: the fields that steer loading, read once per path.

Node reads a package.json to find a package's entry (`main`, `exports`), its private import map
(`imports`), its own name (self-references) and whether its `.js` files are ES modules (`type`:
the tracer reads both syntaxes in any file, so it needs only the file kept).
The *package scope* of a file is the nearest directory above it holding a package.json, never
looking past a `node_modules` directory: Node reads that file for every `.js` module it loads.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import RootFS, SymlinkLoopError

JSON = Any  # a parsed JSON value


@dataclass(frozen=True)
class PackageJson:
    """The fields of one package.json that Node and npm act on."""

    path: str  # where it was read (the package directory's path + /package.json)
    name: str | None = None
    main: str | None = None
    exports: JSON = None  # None when absent or null: Node treats both alike
    imports: JSON = None
    browser: JSON = None  # what bundlers swap in for browsers: never loaded by Node
    scripts: dict[str, str] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.path)


def parse_package_json(path: str, data: bytes) -> PackageJson:
    """The fields, ignoring ones of the wrong type as Node does (a non-string `main` is no main);
    one that is no JSON object gives none (Node refuses to load through it)."""
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raw = None
    if not isinstance(raw, dict):
        return PackageJson(path)

    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    scripts = raw.get("scripts")
    return PackageJson(path, name=text("name"), main=text("main") or None,
                       exports=raw.get("exports"), imports=raw.get("imports"), browser=raw.get("browser"),
                       scripts={k: v for k, v in scripts.items() if isinstance(v, str)}
                       if isinstance(scripts, dict) else {})


class PackageJsons:
    """package.json files of one image, each read once."""

    def __init__(self, fs: RootFS) -> None:
        self.fs = fs
        self._read: dict[str, PackageJson | None] = {}
        self._scopes: dict[str, PackageJson | None] = {}

    def read(self, path: str) -> PackageJson | None:
        """The package.json at `path`, or None when there is no regular file there."""
        if path not in self._read:
            try:
                entry = self.fs.lookup(path)
            except SymlinkLoopError:
                entry = None
            found = None
            if entry is not None and entry.type is EntryType.FILE:
                found = parse_package_json(path, self.fs.read(entry))
            self._read[path] = found
        return self._read[path]

    def in_directory(self, directory: str) -> PackageJson | None:
        return self.read(posixpath.join(directory, "package.json"))

    def scope(self, directory: str) -> PackageJson | None:
        """The package.json of the package scope `directory` is in (searching upwards, stopping
        at a `node_modules` directory), or None."""
        if directory not in self._scopes:
            found: PackageJson | None = None
            if posixpath.basename(directory) != "node_modules":
                found = self.in_directory(directory)
                if found is None and directory != "/":
                    found = self.scope(posixpath.dirname(directory))
            self._scopes[directory] = found
        return self._scopes[directory]
