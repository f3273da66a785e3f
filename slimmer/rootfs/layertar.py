"""Reading one layer tar safely: normalised names, whiteouts recognised, hostile entries refused.

The layer is walked with tarfile over a seekable window of its uncompressed bytes; member data
is skipped, not read. What comes out is a list of `LayerItem`s the merge applies in order.
Layers are indexed from 0 in the code and numbered from 1 (bottom first) in messages, as
everywhere else in slimmer.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

from slimmer.errors import CorruptImageError
from slimmer.image.blob import Blob
from slimmer.rootfs.entry import Entry, EntryType

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
XATTR_PREFIX = "SCHILY.xattr."

_TYPES = {
    tarfile.REGTYPE: EntryType.FILE,
    tarfile.AREGTYPE: EntryType.FILE,
    tarfile.CONTTYPE: EntryType.FILE,
    tarfile.DIRTYPE: EntryType.DIR,
    tarfile.SYMTYPE: EntryType.SYMLINK,
    tarfile.CHRTYPE: EntryType.CHAR,
    tarfile.BLKTYPE: EntryType.BLOCK,
    tarfile.FIFOTYPE: EntryType.FIFO,
}


@dataclass(frozen=True, slots=True)
class LayerItem:
    """What one tar member means for the merge."""

    kind: str  # "entry", "hardlink", "whiteout" or "opaque"
    path: str  # normalised absolute path; for "opaque" the directory it applies to
    entry: Entry | None = None  # for "entry" and "hardlink" (location filled in by the merge)
    target: str = ""  # for "hardlink": the normalised path linked to


def normalise(name: str, layer: int, what: str = "entry") -> str:
    """Make a member name absolute and canonical; refuse names whose '..' climb above the root."""
    if _climbs(name):
        raise CorruptImageError(f"layer {layer + 1}: {what} {name!r} escapes the image root")
    return posixpath.normpath("/" + name.lstrip("/"))


def _climbs(name: str) -> bool:
    """True when the name's '..' components would climb above the directory it is relative to."""
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def read_layer(blob: Blob, layer: int) -> Iterator[LayerItem]:
    """Yield the meaning of each member of a layer tar, in tar order."""
    reader = blob.open()
    try:
        try:
            tar = tarfile.open(fileobj=reader, mode="r:", encoding="utf-8", errors="surrogateescape")
        except (tarfile.TarError, EOFError, ValueError) as e:
            raise CorruptImageError(f"layer {layer + 1}: not a valid tar archive ({e})") from None
        while True:
            try:
                member = tar.next()
            except (tarfile.TarError, EOFError, ValueError, UnicodeError) as e:
                raise CorruptImageError(f"layer {layer + 1}: corrupt tar ({e})") from None
            if member is None:
                break
            yield _item(member, blob, layer)
        _check_end(blob, tar.offset, layer)
    finally:
        reader.close()


def _check_end(blob: Blob, offset: int, layer: int) -> None:
    """tarfile stops quietly on a damaged header or a cut-off archive; a real tar ends in zeros."""
    end = blob.read_at(offset, 512)
    if len(end) < 512:
        raise CorruptImageError(f"layer {layer + 1}: truncated tar (no end-of-archive marker)")
    if end.count(0) != 512:
        raise CorruptImageError(f"layer {layer + 1}: corrupt tar header at byte {offset}")


def _item(member: tarfile.TarInfo, blob: Blob, layer: int) -> LayerItem:
    path = normalise(member.name, layer)
    base = posixpath.basename(path)
    if base.startswith(WHITEOUT_PREFIX):
        parent = posixpath.dirname(path)
        if base == OPAQUE_MARKER:
            return LayerItem("opaque", parent)
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            # AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not part of the filesystem.
            return LayerItem("whiteout", "")
        return LayerItem("whiteout", posixpath.join(parent, base[len(WHITEOUT_PREFIX):]))

    if member.issparse():
        raise CorruptImageError(f"layer {layer + 1}: sparse file {path!r} is not supported")
    if member.size < 0 or member.offset_data + member.size > blob.size:
        raise CorruptImageError(
            f"layer {layer + 1}: entry {path!r} claims {member.size} bytes, beyond the end of the layer "
                "(truncated or absurd size)")

    xattrs = {k[len(XATTR_PREFIX):]: v for k, v in member.pax_headers.items() if k.startswith(XATTR_PREFIX)} or None
    entry = Entry(path=path, type=EntryType.FILE, mode=member.mode & 0o7777, uid=member.uid, gid=member.gid,
                  size=0, mtime=int(member.mtime), layer=layer, xattrs=xattrs)
    if member.islnk():
        return LayerItem("hardlink", path, entry, normalise(member.linkname, layer, "hardlink target of " + repr(path)))
    kind = _TYPES.get(member.type)
    if kind is None:
        raise CorruptImageError(f"layer {layer + 1}: entry {path!r} has unsupported tar type {member.type!r}")
    entry.type = kind
    if kind is EntryType.FILE:
        entry.size = member.size
        entry.offset = member.offset_data
    elif kind is EntryType.SYMLINK:
        entry.link = member.linkname
    elif kind in (EntryType.CHAR, EntryType.BLOCK):
        entry.devmajor, entry.devminor = member.devmajor, member.devminor
    return LayerItem("entry", path, entry)
