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

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image import compression
from slimmer.image.blob import Blob
from slimmer.image.model import Image, Layer
from slimmer.progress import QUIET, Progress

CHUNK = 4 << 20

# Blobs already hashed in this process: (path, inode, mtime_ns, offset, size) -> sha256 digest.
_hash_cache: dict[tuple, str] = {}
_hash_lock = threading.Lock()


def short(digest: str | None) -> str:
    if not digest:
        return "?"
    alg, _, hexpart = digest.partition(":")
    return f"{alg}:{hexpart[:12]}" if hexpart else digest[:19]


def split_digest(digest: str) -> tuple[str, str]:
    """("sha256", hex) from "sha256:hex"; CorruptImageError when malformed or unsupported."""
    alg, sep, hexpart = digest.partition(":") if isinstance(digest, str) else ("", "", "")
    if not sep or alg not in ("sha256", "sha384", "sha512") or not hexpart or \
            len(hexpart) != hashlib.new(alg).digest_size * 2 or \
            any(c not in "0123456789abcdef" for c in hexpart):
        raise CorruptImageError(f"invalid or unsupported digest {digest!r}")
    return alg, hexpart


def iter_blob(blob: Blob, chunk: int = CHUNK) -> Iterator[bytes]:
    """The bytes of a blob in chunks; SlimError if its file is missing or shorter than said."""
    try:
        f = open(blob.path, "rb", buffering=0)
    except OSError as e:
        raise SlimError(f"cannot read {blob.path}: {e.strerror or e}") from None
    with f:
        pos, end = blob.offset, blob.offset + blob.size
        while pos < end:
            try:
                data = os.pread(f.fileno(), min(chunk, end - pos), pos)
            except OSError as e:
                raise SlimError(f"cannot read {blob.path}: {e.strerror or e}") from None
            if not data:
                raise CorruptImageError(f"{blob.path} ends early: expected {end - blob.offset} bytes "
                                        f"from offset {blob.offset}, found {pos - blob.offset}")
            pos += len(data)
            yield data


def _blob_key(blob: Blob) -> tuple | None:
    try:
        st = os.stat(blob.path)
    except OSError:
        return None
    return (str(blob.path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, blob.offset, blob.size)


def hash_blob(blob: Blob, algorithm: str = "sha256", progress: Progress = QUIET,
              description: str = "hashing") -> str:
    """`algorithm:hex` of a blob's bytes (memoised per file version within the process)."""
    key = _blob_key(blob)
    if key is not None and algorithm == "sha256":
        with _hash_lock:
            if key in _hash_cache:
                return _hash_cache[key]
    h = hashlib.new(algorithm)
    with progress.bytes(description, blob.size) as bar:
        for data in iter_blob(blob):
            h.update(data)
            bar.update(len(data))
    digest = f"{algorithm}:{h.hexdigest()}"
    if key is not None and algorithm == "sha256":
        with _hash_lock:
            _hash_cache[key] = digest
    return digest


def layer_compression(layer: Layer) -> str | None:
    """gzip/zstd/bzip2/xz/tar by the content's first bytes; None when it is none of these."""
    return compression.detect(layer.blob.read_at(0, compression.SNIFF_SIZE))


def _label(layer: Layer, index: int | None) -> str:
    where = f"layer {index}" if index is not None else "layer"
    return f"{where} ({short(layer.diff_id)})"


class _HashWriter:
    """Hashes and writes chunks on a worker thread, so that decompressing overlaps with both
    (zlib, zstd, hashlib and file writes all release the GIL on large buffers)."""

    def __init__(self, out, digest) -> None:
        self._out, self._digest = out, digest
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._size = 0
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._digest.update(data)
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


def uncompressed_layer(layer: Layer, spool_dir: Path, progress: Progress = QUIET, *,
                       index: int | None = None) -> Blob:
    """The layer as a verified uncompressed tar. `index` (1-based) only names it in messages."""
    label = _label(layer, index)
    diff_alg, diff_hex = _checked(label, "diff_id", layer.diff_id)
    if layer.digest is not None:
        _checked(label, "digest", layer.digest)
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

    if kind == compression.TAR:
        try:
            actual = hash_blob(layer.blob, diff_alg, progress, f"verifying layer {index or ''}".rstrip())
        except SlimError as e:
            raise type(e)(f"{label}: {e}") from None
        if layer.digest is not None and layer.digest.split(":", 1)[0] == diff_alg \
                and layer.digest != actual:
            raise CorruptImageError(f"{label}: digest mismatch (manifest says {layer.digest}, "
                                    f"content is {actual})")
        if actual != layer.diff_id:
            raise CorruptImageError(f"{label}: diff_id mismatch (config says {layer.diff_id}, "
                                    f"content is {actual})")
        return layer.blob

    spool_dir = Path(spool_dir)
    spool_dir.mkdir(parents=True, exist_ok=True)
    final = spool_dir / f"layer-{diff_alg}-{diff_hex}.tar"
    if final.exists():  # decompressed and verified earlier (files only get this name verified)
        return Blob(final, 0, final.stat().st_size)

    stored_alg = layer.digest.split(":", 1)[0] if layer.digest else "sha256"
    stored_hash = hashlib.new(stored_alg)
    diff_hash = hashlib.new(diff_alg)
    fd, tmp_name = tempfile.mkstemp(prefix=".spool-", suffix=".tmp", dir=spool_dir)
    tmp = Path(tmp_name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out, \
                progress.bytes(f"decompressing layer {index or ''}".rstrip(), layer.blob.size) as bar:

            def compressed() -> Iterator[bytes]:
                for data in iter_blob(layer.blob):
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
        stored = f"{stored_alg}:{stored_hash.hexdigest()}"
        if layer.digest is not None and stored != layer.digest:
            raise CorruptImageError(f"{label}: digest mismatch (manifest says {layer.digest}, "
                                    f"content is {stored})")
        actual = f"{diff_alg}:{diff_hash.hexdigest()}"
        if actual != layer.diff_id:
            raise CorruptImageError(f"{label}: diff_id mismatch (config says {layer.diff_id}, "
                                    f"content is {actual})")
        os.replace(tmp, final)
    except OSError as e:  # disk full and the like
        tmp.unlink(missing_ok=True)
        raise SlimError(f"{label}: cannot write to {spool_dir}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Blob(final, 0, size)


def _checked(label: str, what: str, digest: str) -> tuple[str, str]:
    try:
        return split_digest(digest)
    except CorruptImageError as e:
        raise CorruptImageError(f"{label}: {what}: {e}") from None


def uncompressed_layers(image: Image, spool_dir: Path, progress: Progress = QUIET) -> list[Blob]:
    """Every layer of `image` as a verified uncompressed tar, bottom first."""
    return [uncompressed_layer(layer, spool_dir, progress, index=i)
            for i, layer in enumerate(image.layers, 1)]
