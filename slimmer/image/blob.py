"""Byte ranges of files on disk, read without copying them out.

Every layer ends up as an uncompressed tar that lives somewhere on disk: a region of a
`docker save` archive, a blob of an OCI layout, or a decompressed spool in the work
directory. A `Blob` names such a region; `BlobReader` gives it a seekable file interface so
tarfile and the ELF reader can work on it directly.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from slimmer.errors import CorruptImageError, SlimError

CHUNK = 4 << 20  # big enough that hashing and decompressing run at full speed


@dataclass(frozen=True)
class Blob:
    """`size` bytes of `path` starting at `offset`."""

    path: Path
    offset: int
    size: int

    def open(self) -> BlobReader:
        return BlobReader(self)

    def read_at(self, offset: int, size: int) -> bytes:
        """Read `size` bytes at `offset` within the blob (clipped to its end)."""
        size = max(0, min(size, self.size - offset))
        with open(self.path, "rb", buffering=0) as f:
            return os.pread(f.fileno(), size, self.offset + offset)

    def slice(self, offset: int, size: int) -> Blob:
        return Blob(self.path, self.offset + offset, size)

    def chunks(self, chunk: int = CHUNK) -> Iterator[bytes]:
        """The bytes in chunks; SlimError if the file is missing, CorruptImageError if it is shorter."""
        try:
            f = open(self.path, "rb", buffering=0)
        except OSError as e:
            raise SlimError(f"cannot read {self.path}: {e.strerror or e}") from None
        with f:
            pos, end = self.offset, self.offset + self.size
            while pos < end:
                try:
                    data = os.pread(f.fileno(), min(chunk, end - pos), pos)
                except OSError as e:
                    raise SlimError(f"cannot read {self.path}: {e.strerror or e}") from None
                if not data:
                    raise CorruptImageError(f"{self.path} ends early: expected {self.size} bytes "
                                            f"from offset {self.offset}, found {pos - self.offset}")
                pos += len(data)
                yield data


class BlobReader(io.RawIOBase):
    """A read-only, seekable window over a Blob; positions are relative to the blob."""

    def __init__(self, blob: Blob) -> None:
        super().__init__()
        self._blob = blob
        self._file: BinaryIO = open(blob.path, "rb", buffering=0)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._blob.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self._blob.size - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._file.fileno(), want, self._blob.offset + self._pos)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._blob.size - self._pos
        size = max(0, min(size, self._blob.size - self._pos))
        if size == 0:
            return b""
        data = os.pread(self._file.fileno(), size, self._blob.offset + self._pos)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
