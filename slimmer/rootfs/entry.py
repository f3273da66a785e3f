"""One file of the merged root filesystem: its metadata and where its bytes are."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EntryType(str, Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"


@dataclass(slots=True)
class Entry:
    """Metadata of a path in the merged tree; bytes are read on demand from its layer.

    `layer` and `offset` say where the content is: `offset` bytes into the uncompressed tar of
    layer number `layer`. A hardlink gets the location of the file it links to, so content
    identity is `(layer, offset)` and survives the original being removed later.
    """

    path: str  # absolute and normalised: "/usr/bin/env"
    type: EntryType
    mode: int  # permission bits including setuid/setgid/sticky (07777)
    uid: int
    gid: int
    size: int  # bytes of content for files, 0 otherwise
    mtime: int
    layer: int
    offset: int = -1  # data offset in the layer tar, -1 when there is no content
    link: str = ""  # symlink target as written in the tar
    hardlink_of: str | None = None  # path of the file this was hardlinked to in its layer
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, str] | None = None  # PAX "SCHILY.xattr.*" records, e.g. security.capability

    @property
    def is_file(self) -> bool:
        return self.type is EntryType.FILE

    @property
    def is_dir(self) -> bool:
        return self.type is EntryType.DIR

    @property
    def content_key(self) -> tuple[int, int]:
        """Identity of the bytes: equal for hardlinks of one file, usable as a cache key."""
        return (self.layer, self.offset)
