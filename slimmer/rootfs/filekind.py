"""What a file holds, from its first bytes: the tracers dispatch on it, the audit sums by it.

The common cases are told by their magic numbers directly (cheap and exact), then by a name
whose suffix says what it is; libmagic (python-magic) decides the rest (it costs 0.15 to
0.6 ms a file, most of an audit's time when it sees every file). Only the first `HEAD_BYTES`
of a file are ever read.
"""

from __future__ import annotations

import posixpath
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


# Suffixes that say what a file is once the magic numbers above have not matched.
_KIND_BY_SUFFIX = {
    **dict.fromkeys((".py", ".pyi", ".txt", ".md", ".rst", ".html", ".htm", ".css", ".js", ".mjs", ".cjs",
                     ".ts", ".json", ".xml", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".h", ".hpp",
                     ".c", ".cc", ".cpp", ".pl", ".pm", ".rb", ".sh", ".csv", ".sql", ".pem", ".crt",
                     ".desktop", ".service", ".properties", ".map", ".svg", ".pod", ".tcl", ".el"), FileKind.TEXT),
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".ico", ".mo", ".ttf", ".otf", ".woff", ".woff2",
                     ".mgc", ".db", ".sqlite", ".wasm", ".node", ".cache"), FileKind.DATA),
}


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r\f\v"


def classify_head(head: bytes, name: str = "") -> FileKind:
    """Classify content from its first bytes (and, when they do not tell, the file's name)."""
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
    if head.startswith(b"TZif"):
        return FileKind.DATA  # compiled time zone
    if not head.translate(None, _PRINTABLE_ASCII):
        return FileKind.TEXT  # plain ASCII text, which is all libmagic would conclude too
    by_name = _KIND_BY_SUFFIX.get(posixpath.splitext(name)[1].lower())
    if by_name is not None:
        return by_name
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
    return classify_head(fs.read(entry, HEAD_BYTES), entry.path)


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
