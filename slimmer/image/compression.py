"""Layer compression: recognised by the first bytes of the content, undone as a stream.

Media types lie often enough (hand-made layouts, old tools) that the bytes decide: gzip
(1f 8b), zstd (28 b5 2f fd), bzip2 and xz (which `docker load` also accepts), else a tar.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterable, Iterator

import zstandard

from slimmer.errors import CorruptImageError

GZIP = "gzip"
ZSTD = "zstd"
BZIP2 = "bzip2"
XZ = "xz"
TAR = "tar"  # not compressed

_MAGIC = (
    (b"\x1f\x8b", GZIP),
    (b"\x28\xb5\x2f\xfd", ZSTD),
    (b"BZh", BZIP2),
    (b"\xfd7zXZ\x00", XZ),
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


def detect(head: bytes) -> str | None:
    """The compression of a blob from its first bytes; TAR if plain, None if unrecognised."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return TAR if looks_like_tar(head) else None


def kind_from_media_type(media_type: str) -> str | None:
    """What the media type claims (used only in messages and as a hint)."""
    mt = media_type.lower()
    if mt.endswith(("+gzip", ".gzip", "tar.gz")):
        return GZIP
    if mt.endswith(("+zstd", ".zstd")):
        return ZSTD
    if mt.endswith(("tar", ".tar", "layer.v1.tar")):
        return TAR
    return None


class _Stream:
    """A streaming decompressor for one format, tolerant of concatenated members/frames."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._obj = self._new()

    def _new(self):
        if self.kind == GZIP:
            return zlib.decompressobj(wbits=31)
        if self.kind == ZSTD:
            return zstandard.ZstdDecompressor().decompressobj()
        if self.kind == BZIP2:
            return bz2.BZ2Decompressor()
        if self.kind == XZ:
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

    def finish(self) -> Iterator[bytes]:
        if self._obj is not None:
            if self.kind == GZIP:
                tail = self._obj.flush()
                if tail:
                    yield tail
            if not self._obj.eof:
                raise CorruptImageError("compressed data ends early (truncated)")


def decompress_chunks(kind: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a stream of `kind`; CorruptImageError (one line) when it is damaged."""
    if kind == TAR:
        yield from chunks
        return
    stream = _Stream(kind)
    try:
        for chunk in chunks:
            yield from stream.feed(chunk)
        yield from stream.finish()
    except CorruptImageError as e:
        raise CorruptImageError(f"corrupt {kind} data: {e}") from None
    except (zlib.error, zstandard.ZstdError, OSError, EOFError, lzma.LZMAError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CorruptImageError(f"corrupt {kind} data: {msg}") from None


def compressor(kind: str, level: int | None = None) -> Callable[[Iterable[bytes]], Iterator[bytes]]:
    """A function compressing a stream of chunks (for writing compressed layers/fixtures)."""

    def run(chunks: Iterable[bytes]) -> Iterator[bytes]:
        if kind == TAR:
            yield from chunks
            return
        if kind == GZIP:
            # mtime 0 and no file name: deterministic output.
            obj = zlib.compressobj(level if level is not None else 6, zlib.DEFLATED, 31)
        elif kind == ZSTD:
            obj = zstandard.ZstdCompressor(level=level if level is not None else 3).compressobj()
        elif kind == BZIP2:
            obj = bz2.BZ2Compressor(level or 9)
        elif kind == XZ:
            obj = lzma.LZMACompressor()
        else:
            raise ValueError(f"unknown compression {kind!r}")
        for chunk in chunks:
            out = obj.compress(chunk)
            if out:
                yield out
        tail = obj.flush()
        if tail:
            yield tail

    return run


def compress_bytes(data: bytes, kind: str, level: int | None = None) -> bytes:
    return b"".join(compressor(kind, level)([data]))
