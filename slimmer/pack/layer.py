"""Writing the kept files as one deterministic layer tar.

Entries are sorted, carry their original modes, owners, mtimes and capability xattrs (nothing
is added or widened), every parent directory comes with its original metadata, and content
shared by hardlinks in the source is written once with hardlinks to it. The same keep set
therefore always gives the same bytes, hence the same digest.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from slimmer.image.blob import Blob
from slimmer.image.digest import Digest
from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS
from slimmer.rootfs.layertar import XATTR_PREFIX

COPY_BUFFER = 1 << 20

_TAR_TYPES = {
    EntryType.FILE: tarfile.REGTYPE,
    EntryType.DIR: tarfile.DIRTYPE,
    EntryType.SYMLINK: tarfile.SYMTYPE,
    EntryType.CHAR: tarfile.CHRTYPE,
    EntryType.BLOCK: tarfile.BLKTYPE,
    EntryType.FIFO: tarfile.FIFOTYPE,
}

# Directories a container expects even when no kept file lives in them.
SYNTHETIC_DIRS = {"/tmp": 0o1777}


@dataclass(frozen=True)
class PackedLayer:
    blob: Blob  # the uncompressed tar
    diff_id: Digest
    files: int  # entries written, directories included
    size: int  # as Docker counts a layer: file content (hardlinked once) plus symlink targets


class _HashingWriter(io.RawIOBase):
    """A file wrapper that hashes what goes through it, so the tar is read only once."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "wb")
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha256.update(data)
        self.size += len(data)
        return self._file.write(data)

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        self._file.close()
        super().close()


def with_parents(fs: RootFS, paths: Iterable[str]) -> list[Entry]:
    """The entries of `paths` and of all their parent directories, sorted by path."""
    wanted: dict[str, Entry] = {}
    for path in paths:
        while path not in wanted and path != "/":
            entry = fs.get(path)
            if entry is None:
                raise ValueError(f"kept path {path} is not in the image")
            wanted[path] = entry
            path = posixpath.dirname(path)
    for path, mode in SYNTHETIC_DIRS.items():
        if path not in wanted and fs.get(path) is None:
            wanted[path] = Entry(path=path, type=EntryType.DIR, mode=mode, uid=0, gid=0, size=0, mtime=0, layer=-1)
    return [wanted[p] for p in sorted(wanted)]


def write_layer(fs: RootFS, paths: Iterable[str], destination: Path) -> PackedLayer:
    """Write the kept `paths` (with their parents) to `destination` as a tar."""
    entries = with_parents(fs, paths)
    writer = _HashingWriter(destination)
    written_content: dict[tuple[int, int], str] = {}
    size = 0
    try:
        with tarfile.TarFile(fileobj=writer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8",
                             errors="surrogateescape", copybufsize=COPY_BUFFER) as tar:
            for entry in entries:
                info = _tarinfo(entry)
                if entry.type is EntryType.FILE:
                    first = written_content.get(entry.content_key)
                    if first is not None:
                        info.type, info.linkname, info.size = tarfile.LNKTYPE, first.lstrip("/"), 0
                        tar.addfile(info)
                        continue
                    written_content[entry.content_key] = entry.path
                    size += entry.size
                    with fs.open(entry) as content:
                        tar.addfile(info, content)
                else:
                    size += len(entry.link.encode("utf-8", "surrogateescape"))
                    tar.addfile(info)
    finally:
        writer.close()
    return PackedLayer(Blob(destination, 0, writer.size), Digest.of_hash(writer.sha256), len(entries), size)


def _tarinfo(entry: Entry) -> tarfile.TarInfo:
    name = entry.path.lstrip("/")
    info = tarfile.TarInfo(name + "/" if entry.type is EntryType.DIR else name)
    info.type = _TAR_TYPES[entry.type]
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    info.mtime = entry.mtime
    info.size = entry.size if entry.type is EntryType.FILE else 0
    info.linkname = entry.link
    info.devmajor, info.devminor = entry.devmajor, entry.devminor
    if entry.xattrs:
        info.pax_headers = {XATTR_PREFIX + key: value for key, value in sorted(entry.xattrs.items())}
    return info
