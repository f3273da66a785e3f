"""Layers as verified, uncompressed tars on disk.

A plain layer is used where it lies (after hashing it); a compressed one is decompressed once
into the spool directory, hashed on the way. Either way the result's sha256 has been checked
against the config's diff_id, and the stored bytes against the layer digest when one is known.
"""

from __future__ import annotations

import hashlib
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image import compression
from slimmer.image.blob import Blob
from slimmer.image.digest import Digest
from slimmer.image.model import Image, Layer
from slimmer.progress import QUIET, Progress

if TYPE_CHECKING:
    from hashlib import _Hash

# Blobs already hashed in this process: (path, device, inode, mtime, file size, offset, size) -> digest.
_BlobKey = tuple[str, int, int, int, int, int, int]
_hash_cache: dict[_BlobKey, Digest] = {}
_hash_lock = threading.Lock()


def _blob_key(blob: Blob) -> _BlobKey | None:
    try:
        st = os.stat(blob.path)
    except OSError:
        return None
    return (str(blob.path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, blob.offset, blob.size)


def hash_blob(blob: Blob, algorithm: str = "sha256", progress: Progress = QUIET,
              description: str = "hashing") -> Digest:
    """The digest of a blob's bytes (sha256 memoised per file version within the process)."""
    key = _blob_key(blob)
    if key is not None and algorithm == "sha256":
        with _hash_lock:
            if key in _hash_cache:
                return _hash_cache[key]
    h = hashlib.new(algorithm)
    with progress.bytes(description, blob.size) as bar:
        for data in blob.chunks():
            h.update(data)
            bar.update(len(data))
    digest = Digest.of_hash(h)
    if key is not None and algorithm == "sha256":
        with _hash_lock:
            _hash_cache[key] = digest
    return digest


def _label(layer: Layer, index: int | None) -> str:
    where = f"layer {index}" if index is not None else "layer"
    return f"{where} ({layer.diff_id.short})"


class _HashWriter:
    """Hashes and writes chunks on a worker thread, so that decompressing overlaps with both
    (zlib, zstd, hashlib and file writes all release the GIL on large buffers)."""

    def __init__(self, out: BinaryIO, hasher: _Hash) -> None:
        self._out, self._hasher = out, hasher
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._size = 0
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._hasher.update(data)
                    self._out.write(data)
                    self._size += len(data)
                except BaseException as e:  # reported to the producer
                    self._error = e

    def put(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self) -> int:
        """Wait for the queued chunks; return the byte count (raises the worker's error)."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._size


def _check(label: str, what: str, said: Digest, actual: Digest) -> None:
    if actual != said:
        source = "config" if what == "diff_id" else "manifest"
        raise CorruptImageError(f"{label}: {what} mismatch ({source} says {said}, content is {actual})")


def uncompressed_layer(layer: Layer, spool_dir: Path, progress: Progress = QUIET, *,
                       index: int | None = None) -> Blob:
    """The layer as a verified uncompressed tar. `index` (1-based) only names it in messages."""
    label = _label(layer, index)
    try:
        head = layer.blob.read_at(0, compression.SNIFF_SIZE)
    except OSError as e:
        raise SlimError(f"{label}: cannot read {layer.blob.path}: {e.strerror or e}") from None
    if len(head) < min(layer.blob.size, compression.SNIFF_SIZE):
        raise CorruptImageError(f"{label}: {layer.blob.path} ends early (truncated)")
    kind = compression.detect(head)
    if kind is None:
        raise CorruptImageError(f"{label}: content is neither a tar nor gzip/zstd-compressed "
                                f"(media type {layer.media_type})")

    if kind is compression.Compression.TAR:
        try:
            actual = hash_blob(layer.blob, layer.diff_id.algorithm, progress,
                               f"verifying layer {index or ''}".rstrip())
        except SlimError as e:
            raise type(e)(f"{label}: {e}") from None
        if layer.digest is not None and layer.digest.algorithm == actual.algorithm:
            _check(label, "digest", layer.digest, actual)
        _check(label, "diff_id", layer.diff_id, actual)
        return layer.blob

    spool_dir = Path(spool_dir)
    spool_dir.mkdir(parents=True, exist_ok=True)
    final = spool_dir / f"layer-{layer.diff_id.algorithm}-{layer.diff_id.hex}.tar"
    if final.exists():  # decompressed and verified earlier (files only get this name verified)
        return Blob(final, 0, final.stat().st_size)

    stored_hash = layer.digest.hasher() if layer.digest else hashlib.sha256()
    diff_hash = layer.diff_id.hasher()
    fd, tmp_name = tempfile.mkstemp(prefix=".spool-", suffix=".tmp", dir=spool_dir)
    tmp = Path(tmp_name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out, \
                progress.bytes(f"decompressing layer {index or ''}".rstrip(), layer.blob.size) as bar:

            def compressed() -> Iterator[bytes]:
                for data in layer.blob.chunks():
                    stored_hash.update(data)
                    bar.update(len(data))
                    yield data

            writer = _HashWriter(out, diff_hash)
            try:
                for data in compression.decompress_chunks(kind, compressed()):
                    writer.put(data)
            except SlimError as e:
                raise type(e)(f"{label}: {e}") from None
            finally:
                size = writer.close()
        if layer.digest is not None:
            _check(label, "digest", layer.digest, Digest.of_hash(stored_hash))
        _check(label, "diff_id", layer.diff_id, Digest.of_hash(diff_hash))
        os.replace(tmp, final)
    except OSError as e:  # disk full and the like
        tmp.unlink(missing_ok=True)
        raise SlimError(f"{label}: cannot write to {spool_dir}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Blob(final, 0, size)


def uncompressed_layers(image: Image, spool_dir: Path, progress: Progress = QUIET) -> list[Blob]:
    """Every layer of `image` as a verified uncompressed tar, bottom first."""
    return [uncompressed_layer(layer, spool_dir, progress, index=i)
            for i, layer in enumerate(image.layers, 1)]
