"""The merged root filesystem: lookups confined to the image root, bytes read on demand.

Paths resolve the way the kernel resolves them inside a chroot of the image: absolute symlink
targets start again at the image root, `..` never climbs above it, and a lookup that follows
more than 40 symlinks fails as ELOOP does.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from slimmer.errors import SlimError
from slimmer.image.blob import Blob, BlobReader
from slimmer.rootfs.entry import Entry, EntryType

MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS: the limit of symlinks followed in one lookup


class SymlinkLoopError(SlimError):
    """A lookup followed more symlinks than the kernel would."""


@dataclass(frozen=True)
class Resolved:
    """Result of a lookup: where it ended and which symlinks it went through on the way."""

    path: str  # the real path reached (or the first missing one)
    entry: Entry | None  # None when the path does not exist
    symlinks: tuple[str, ...]  # every symlink followed, in order: all must exist for the lookup to work


class RootFS:
    """Index of the merged tree: path -> Entry, plus directory listings."""

    def __init__(self, layers: list[Blob], entries: dict[str, Entry], children: dict[str, set[str]]) -> None:
        self._layers = layers
        self._entries = entries
        self._children = children

    # -- lookups without following symlinks -------------------------------------------------

    def get(self, path: str) -> Entry | None:
        """The entry at exactly this (absolute, normalised) path, symlinks not followed."""
        return self._entries.get(path)

    def __contains__(self, path: str) -> bool:
        return path in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> Iterator[Entry]:
        """Every entry, in sorted path order (deterministic output depends on it)."""
        for path in sorted(self._entries):
            yield self._entries[path]

    def walk(self, top: str) -> Iterator[Entry]:
        """Every entry strictly under the directory `top` (not following symlinks), sorted."""
        for name in sorted(self._children.get(top, ())):
            path = posixpath.join(top, name)
            entry = self._entries[path]
            yield entry
            if entry.type is EntryType.DIR:
                yield from self.walk(path)

    def listdir(self, path: str) -> list[str]:
        """Names in a directory (after resolving `path`), sorted; empty if not a directory."""
        real = self.resolve(path).path
        return sorted(self._children.get(real, ()))

    # -- lookups following symlinks as the kernel does in a chroot ---------------------------

    def resolve(self, path: str, follow_last: bool = True, cwd: str = "/") -> Resolved:
        """Resolve `path` (relative ones against `cwd`) inside the image root."""
        start = path if path.startswith("/") else posixpath.join(cwd, path)
        pending = [p for p in reversed(start.split("/")) if p not in ("", ".")]
        current = "/"
        followed: list[str] = []
        while pending:
            name = pending.pop()
            if name == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, name)
            entry = self._entries.get(candidate)
            if entry is None:
                rest = "/".join(reversed(pending))
                return Resolved(posixpath.join(candidate, rest) if rest else candidate, None, tuple(followed))
            if entry.type is EntryType.SYMLINK and (pending or follow_last):
                if len(followed) >= MAX_SYMLINKS:
                    raise SymlinkLoopError(f"too many levels of symbolic links resolving {path} (loop at {candidate})")
                followed.append(candidate)
                if entry.link.startswith("/"):
                    current = "/"
                pending.extend(p for p in reversed(entry.link.split("/")) if p not in ("", "."))
                continue
            if pending and entry.type is not EntryType.DIR:
                rest = "/".join(reversed(pending))
                return Resolved(posixpath.join(candidate, rest), None, tuple(followed))
            current = candidate
        return Resolved(current, self._entries.get(current), tuple(followed))

    def lookup(self, path: str, cwd: str = "/") -> Entry | None:
        """The entry `path` leads to after following symlinks, or None."""
        return self.resolve(path, cwd=cwd).entry

    def glob(self, pattern: str) -> list[str]:
        """Existing paths matching a shell glob, as the shell expands it: `*` does not cross
        `/`, and directories reached through symlinks are listed as the symlink's path."""
        parts = posixpath.normpath("/" + pattern.lstrip("/")).strip("/").split("/")
        found = ["/"]
        for part in parts:
            matched: list[str] = []
            for base in found:
                if any(c in part for c in "*?["):
                    listing = self._children.get(self.resolve(base).path, ())
                    matched.extend(posixpath.join(base, n) for n in listing if fnmatch.fnmatchcase(n, part))
                elif self.resolve(posixpath.join(base, part), follow_last=False).entry is not None:
                    matched.append(posixpath.join(base, part))
            found = matched
        return sorted(found)

    # -- content ---------------------------------------------------------------------------

    def blob(self, entry: Entry) -> Blob:
        """Where the bytes of a regular file are."""
        if entry.type is not EntryType.FILE:
            raise ValueError(f"{entry.path} is not a regular file")
        return self._layers[entry.layer].slice(entry.offset, entry.size)

    def open(self, entry: Entry) -> BlobReader:
        """A seekable read-only stream of a regular file's bytes."""
        return self.blob(entry).open()

    def read(self, entry: Entry, size: int = -1, offset: int = 0) -> bytes:
        """Up to `size` bytes (all when negative) of a regular file, from `offset`."""
        if size < 0:
            size = entry.size
        return self.blob(entry).read_at(offset, size)
