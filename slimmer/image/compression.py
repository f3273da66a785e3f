"""Layer compression: recognised by the first bytes of the content, undone as a stream.

Media types lie often enough (hand-made layouts, old tools) that the bytes decide: gzip
(1f 8b), zstd (28 b5 2f fd), bzip2 and xz (which `docker load` also accepts), else a tar.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Protocol

import zstandard

from slimmer.errors import CorruptImageError


class Compression(StrEnum):
    GZIP = "gzip"
    ZSTD = "zstd"
    BZIP2 = "bzip2"
    XZ = "xz"
    TAR = "tar"  # not compressed


_MAGIC = (
    (b"\x1f\x8b", Compression.GZIP),
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
    (b"BZh", Compression.BZIP2),
    (b"\xfd7zXZ\x00", Compression.XZ),
)

SNIFF_SIZE = 512


def looks_like_tar(head: bytes) -> bool:
    """Whether `head` (the first 512 bytes, or all of a short blob) starts a tar archive."""
    if len(head) == 0:
        return True  # an empty layer: no members at all
    if len(head) < 512:
        return False
    if head[:512] == bytes(512):
        return True  # end-of-archive blocks straight away: an empty tar
    if head[257:262] == b"ustar":
        return True
    # A v7 tar has no magic: check the header checksum instead.
    try:
        stored = int(head[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    computed = sum(head[:148]) + 8 * 32 + sum(head[156:512])
    return stored == computed


def detect(head: bytes) -> Compression | None:
    """The compression of a blob from its first bytes; TAR if plain, None if unrecognised."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return Compression.TAR if looks_like_tar(head) else None


class _Decompressor(Protocol):
    """What zlib, zstandard, bz2 and lzma decompressor objects have in common."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, /) -> bytes: ...


class _Stream:
    """A streaming decompressor for one format, tolerant of concatenated members/frames."""

    def __init__(self, kind: Compression) -> None:
        self.kind = kind
        self._obj: _Decompressor | None = self._new()

    def _new(self) -> _Decompressor:
        if self.kind is Compression.GZIP:
            return zlib.decompressobj(wbits=31)
        if self.kind is Compression.ZSTD:
            return zstandard.ZstdDecompressor().decompressobj()
        if self.kind is Compression.BZIP2:
            return bz2.BZ2Decompressor()
        if self.kind is Compression.XZ:
            return lzma.LZMADecompressor()
        raise ValueError(self.kind)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._obj is None:
                # Between members: zero padding is tolerated, another member is decoded.
                if not data.strip(b"\x00"):
                    return
                if detect(data[:8]) != self.kind:
                    raise CorruptImageError("trailing garbage after the end of the compressed data")
                self._obj = self._new()
            out = self._obj.decompress(data)
            if out:
                yield out
            if self._obj.eof:
                data = self._obj.unused_data
                self._obj = None
            else:
                data = b""

    def finish(self) -> None:
        """A member that never reached its end marker is a truncated stream."""
        if self._obj is not None and not self._obj.eof:
            raise CorruptImageError("compressed data ends early (truncated)")


def decompress_chunks(kind: Compression, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a stream of `kind`; CorruptImageError (one line) when it is damaged."""
    if kind is Compression.TAR:
        yield from chunks
        return
    stream = _Stream(kind)
    try:
        for chunk in chunks:
            yield from stream.feed(chunk)
        stream.finish()
    except CorruptImageError as e:
        raise CorruptImageError(f"corrupt {kind} data: {e}") from None
    except (zlib.error, zstandard.ZstdError, OSError, EOFError, lzma.LZMAError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CorruptImageError(f"corrupt {kind} data: {msg}") from None
