"""What a file holds, from its first bytes: the tracers dispatch on it, the audit sums by it.

The common cases are told by their magic numbers directly (cheap and exact); libmagic
(python-magic) decides the rest. Only the first `HEAD_BYTES` of a file are ever read.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache

import magic

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS

HEAD_BYTES = 2048


class FileKind(str, Enum):
    ELF = "elf"
    SCRIPT = "script"  # starts with "#!"
    PYTHON_BYTECODE = "python-bytecode"
    ARCHIVE = "archive"  # tar, zip, gzip, xz, ... (wheels, jars, .gz docs)
    TEXT = "text"
    DATA = "data"
    EMPTY = "empty"
    OTHER = "other"  # not a regular file: directory, symlink, device, fifo


_ARCHIVE_MAGIC = (
    b"PK\x03\x04",  # zip, jar, wheel
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ\x00",  # xz
    b"BZh",  # bzip2
    b"\x28\xb5\x2f\xfd",  # zstd
    b"!<arch>\n",  # ar, .deb, static libraries
)
_ARCHIVE_MIME_HINTS = ("zip", "gzip", "x-xz", "bzip2", "zstd", "x-tar", "x-archive", "x-7z", "x-rar",
                       "java-archive", "x-lzma", "x-lz4", "x-compress", "x-cpio", "x-debian-package")


def classify_head(head: bytes) -> FileKind:
    """Classify content from its first bytes."""
    if not head:
        return FileKind.EMPTY
    if head.startswith(b"\x7fELF"):
        return FileKind.ELF
    if head.startswith(b"#!"):
        return FileKind.SCRIPT
    if len(head) >= 4 and head[2:4] == b"\r\n" and head[1] in (0x0C, 0x0D):
        return FileKind.PYTHON_BYTECODE  # CPython 3.x: 2-byte version magic, then "\r\n"
    if head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar":
        return FileKind.ARCHIVE
    return _classify_with_libmagic(head)


@lru_cache(maxsize=4096)
def _classify_with_libmagic(head: bytes) -> FileKind:
    mime = _magic().from_buffer(head)
    if mime.startswith("text/") or mime in ("application/json", "application/javascript", "application/xml"):
        return FileKind.TEXT
    if any(hint in mime for hint in _ARCHIVE_MIME_HINTS):
        return FileKind.ARCHIVE
    if mime in ("application/x-empty", "inode/x-empty"):
        return FileKind.EMPTY
    return FileKind.DATA


@lru_cache(maxsize=1)
def _magic() -> magic.Magic:
    return magic.Magic(mime=True)


def classify(fs: RootFS, entry: Entry) -> FileKind:
    """Classify a rootfs entry; non-regular files are OTHER."""
    if entry.type is not EntryType.FILE:
        return FileKind.OTHER
    if entry.size == 0:
        return FileKind.EMPTY
    return classify_head(fs.read(entry, HEAD_BYTES))


def shebang(fs: RootFS, entry: Entry) -> list[str] | None:
    """The interpreter and its argument from a `#!` line, split as the kernel splits it:
    the interpreter path, then everything after it (one argument, unsplit), or None."""
    head = fs.read(entry, 256)
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].decode("utf-8", "surrogateescape").strip()
    if not line:
        return None
    parts = line.split(None, 1)
    return [parts[0]] + ([parts[1].strip()] if len(parts) > 1 else [])
