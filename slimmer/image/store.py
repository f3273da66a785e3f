"""Named files of an image store, a tar archive or a directory, read in place and written deterministically.

Every format slimmer handles is a handful of small JSON documents plus blobs, kept either as
members of a tar (docker-archive, oci-archive) or as files of a directory (oci). Reading: a
`TarStore` indexes the tar once from its headers (name -> data offset and size) so that every
blob is a `Blob` region of the archive, nothing extracted; a `DirStore` serves the files of a
directory. Both refuse names that leave the store and documents too large to be metadata.
Writing: the files of a store as a sorted list of `StoreFile`s, written as a tar (mtime 0,
uid/gid 0, fixed modes) or into a directory, each blob's digest checked while it is copied.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from tqdm import tqdm

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image import compression
from slimmer.image.blob import Blob
from slimmer.image.digest import Digest
from slimmer.progress import QUIET, Progress

JSON_LIMIT = 64 << 20  # manifests and configs are small; refuse absurd ones
MAX_LINKS = 40  # links followed resolving one member name

FILE_MODE = 0o644
DIR_MODE = 0o755
BLOCK = 512
RECORD = BLOCK * 20


def safe_name(name: Any, what: str) -> str:
    """A relative store path normalised ("./a//b/" -> "a/b"); CorruptImageError if it escapes."""
    if not isinstance(name, str) or not name:
        raise CorruptImageError(f"{what}: empty or non-text path {name!r}")
    if "\x00" in name:
        raise CorruptImageError(f"{what}: path contains a NUL byte: {name!r}")
    if name.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", name):
        raise CorruptImageError(f"{what}: absolute path {name!r} (path traversal)")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise CorruptImageError(f"{what}: path {name!r} leaves the archive (path traversal)")
    return "/".join(parts)


def parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        msg = str(e).splitlines()[0]
        raise CorruptImageError(f"{what}: bad JSON ({msg})") from None


def stable_json(obj: Any) -> bytes:
    """Compact ASCII JSON with sorted keys: the same document always gives the same bytes (and digest),
    whatever text it holds (a name from the command line may carry undecodable bytes)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


# --- reading ------------------------------------------------------------------------------------

class Store(Protocol):
    """Files by relative name, whatever holds them."""

    label: str  # the path the user gave, first in every message

    def exists(self, name: str) -> bool: ...

    def blob(self, name: str, what: str = "file") -> Blob: ...


def read_small(store: Store, name: str, what: str = "file") -> bytes:
    """A file's bytes, refused when larger than any manifest or config could be."""
    blob = store.blob(name, what)
    if blob.size > JSON_LIMIT:
        raise CorruptImageError(f"{store.label}: {what} {name!r} is implausibly large ({blob.size} bytes)")
    return b"".join(blob.chunks())


def read_json(store: Store, name: str) -> Any:
    """A JSON document of the store, by name (which also names it in messages)."""
    return parse_json(read_small(store, name, name), f"{store.label}: {name}")


class MemberKind(Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"


@dataclass(frozen=True)
class Member:
    name: str
    offset: int  # of the data in the archive file
    size: int
    kind: MemberKind
    linkname: str = ""


class TarStore:
    """The members of an uncompressed tar file, by name, from one pass over its headers."""

    def __init__(self, path: Path | str, label: str | None = None) -> None:
        self.path = Path(path)
        self.label = label or str(path)
        self.members: dict[str, Member] = {}
        try:
            file_size = self.path.stat().st_size
        except OSError as e:
            raise SlimError(f"cannot open {self.label}: {e.strerror or e}") from None
        try:
            with tarfile.open(self.path, "r:") as tf:
                for ti in tf:
                    self._add(ti, file_size)
                end = tf.offset
            # tarfile stops quietly at a cut or damaged header after the first member: the
            # archive must go on with the zero block that marks its end.
            with open(self.path, "rb") as f:
                f.seek(end)
                block = f.read(BLOCK)
            if len(block) < BLOCK:
                raise CorruptImageError(f"{self.label}: archive is truncated (at byte {end})")
            if block != bytes(BLOCK):
                raise CorruptImageError(f"{self.label}: damaged tar archive (bad header at byte {end})")
        except tarfile.ReadError as e:
            msg = str(e)
            if "unexpected end" in msg or "truncated" in msg:
                raise CorruptImageError(f"{self.label}: archive is truncated") from None
            if "empty file" in msg:
                raise CorruptImageError(f"{self.label}: empty file, not a tar archive") from None
            raise CorruptImageError(f"{self.label}: not a tar archive ({msg})") from None
        except (tarfile.TarError, EOFError, UnicodeError, ValueError) as e:
            raise CorruptImageError(f"{self.label}: damaged tar archive ({e})") from None
        except OSError as e:
            raise SlimError(f"cannot read {self.label}: {e.strerror or e}") from None

    def _add(self, ti: tarfile.TarInfo, file_size: int) -> None:
        name = safe_name(ti.name, f"{self.label}: member name")
        if ti.isdir():
            kind = MemberKind.DIR
        elif ti.isreg():
            kind = MemberKind.FILE
        elif ti.issym():
            kind = MemberKind.SYMLINK
        elif ti.islnk():
            kind = MemberKind.HARDLINK
        else:
            kind = MemberKind.OTHER
        if kind is MemberKind.FILE and ti.offset_data + ti.size > file_size:
            raise CorruptImageError(f"{self.label}: archive is truncated (member {name!r} "
                                    f"needs {ti.offset_data + ti.size} bytes, file has {file_size})")
        if kind is not MemberKind.DIR and name in self.members and self.members[name].kind is not MemberKind.DIR:
            raise CorruptImageError(f"{self.label}: two archive members are named {name!r}")
        self.members[name] = Member(name, ti.offset_data, ti.size if kind is MemberKind.FILE else 0,
                                    kind, ti.linkname)

    def resolve(self, name: str, what: str = "file") -> Member:
        """The regular-file member `name` refers to, following symlinks and hard links."""
        current = safe_name(name, f"{self.label}: {what}")
        for _ in range(MAX_LINKS):
            m = self.members.get(current)
            if m is None:
                raise CorruptImageError(f"{self.label}: missing {what} {current!r}")
            if m.kind is MemberKind.FILE:
                return m
            if m.kind is MemberKind.SYMLINK:
                target = m.linkname if m.linkname.startswith("/") else \
                    posixpath.normpath(posixpath.join(posixpath.dirname(current), m.linkname))
                current = safe_name(target, f"{self.label}: symlink {current!r}")
            elif m.kind is MemberKind.HARDLINK:
                current = safe_name(m.linkname, f"{self.label}: hard link {current!r}")
            else:
                raise CorruptImageError(f"{self.label}: {what} {current!r} is not a regular file")
        raise CorruptImageError(f"{self.label}: too many levels of links at {name!r}")

    def exists(self, name: str) -> bool:
        try:
            self.resolve(name)
            return True
        except CorruptImageError:
            return False

    def blob(self, name: str, what: str = "file") -> Blob:
        m = self.resolve(name, what)
        return Blob(self.path, m.offset, m.size)


class DirStore:
    """Files of a layout directory, addressed by relative path."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.label = str(root)

    def _path(self, name: str, what: str) -> Path:
        rel = safe_name(name, f"{self.label}: {what}")
        path = self.root / rel
        # Symlinks inside a layout must not lead out of it.
        try:
            real, root = path.resolve(), self.root.resolve()
        except OSError as e:
            raise SlimError(f"cannot read {path}: {e.strerror or e}") from None
        if real != root and root not in real.parents:
            raise CorruptImageError(f"{self.label}: {what} {rel!r} leads outside the layout")
        return path

    def exists(self, name: str) -> bool:
        try:
            return self._path(name, "file").is_file()
        except SlimError:
            return False

    def blob(self, name: str, what: str = "file") -> Blob:
        path = self._path(name, what)
        try:
            if not path.is_file():
                raise CorruptImageError(f"{self.label}: missing {what} {name!r}")
            return Blob(path, 0, path.stat().st_size)
        except OSError as e:
            raise SlimError(f"cannot read {path}: {e.strerror or e}") from None


def open_archive(path: Path, workdir: Path, progress: Progress = QUIET) -> TarStore:
    """Index an archive; a gzip/zstd/xz/bzip2-compressed one is first decompressed into workdir."""
    label = str(path)
    try:
        if path.is_dir():
            raise SlimError(f"{label}: is a directory, not an archive (for an OCI layout use oci:{path})")
        with open(path, "rb") as f:
            head = f.read(compression.SNIFF_SIZE)
        size = path.stat().st_size
    except FileNotFoundError:
        raise SlimError(f"no such file: {path}") from None
    except OSError as e:
        raise SlimError(f"cannot read {path}: {e.strerror or e}") from None
    kind = compression.detect(head)
    if kind in (None, compression.Compression.TAR):
        return TarStore(path, label)
    workdir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="archive-", suffix=".tar", dir=workdir)
    try:
        with os.fdopen(fd, "wb") as out, progress.bytes(f"decompressing {path.name}", size) as bar:
            def chunks() -> Iterator[bytes]:
                for data in Blob(path, 0, size).chunks():
                    bar.update(len(data))
                    yield data
            try:
                for data in compression.decompress_chunks(kind, chunks()):
                    out.write(data)
            except SlimError as e:
                raise CorruptImageError(f"{label}: {e}") from None
        return TarStore(tmp, label)
    except BaseException:
        os.unlink(tmp)
        raise


# --- writing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckedBlob:
    """A blob to copy into a store; its bytes must have `digest` (checked as they are copied)."""

    blob: Blob
    digest: Digest
    label: str  # names it in messages, e.g. "layer 2 (sha256:0123456789ab)"


@dataclass(frozen=True)
class StoreFile:
    name: str  # relative path; directories end with "/"
    data: bytes | CheckedBlob | None = None  # None for directories

    @property
    def size(self) -> int:
        if self.data is None:
            return 0
        return self.data.blob.size if isinstance(self.data, CheckedBlob) else len(self.data)


def with_parents(files: Iterable[StoreFile]) -> list[StoreFile]:
    """Add the parent directories of every file, dedupe, sort by name."""
    by_name: dict[str, StoreFile] = {}
    for f in files:
        parts = f.name.rstrip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i]) + "/"
            by_name.setdefault(d, StoreFile(d))
        by_name[f.name] = f
    return [by_name[k] for k in sorted(by_name)]


def _copied(blob: CheckedBlob, bar: tqdm) -> Iterator[bytes]:
    """The blob's bytes; CorruptImageError after the last chunk if they do not have its digest."""
    h = blob.digest.hasher()
    try:
        for data in blob.blob.chunks():
            h.update(data)
            bar.update(len(data))
            yield data
    except SlimError as e:
        raise type(e)(f"{blob.label}: {e}") from None
    actual = Digest.of_hash(h)
    if actual != blob.digest:
        raise CorruptImageError(f"{blob.label}: content does not match the config's diff_id "
                                f"(config says {blob.digest}, content is {actual})")


def write_tar(f: BinaryIO, files: list[StoreFile], bar: tqdm) -> None:
    """The files as a tar, in the order given, every header the same whenever it is written."""
    for e in files:
        ti = tarfile.TarInfo(e.name.rstrip("/"))
        ti.mtime = 0
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        if e.data is None:
            ti.type, ti.mode, ti.size = tarfile.DIRTYPE, DIR_MODE, 0
        else:
            ti.type, ti.mode, ti.size = tarfile.REGTYPE, FILE_MODE, e.size
        f.write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if isinstance(e.data, CheckedBlob):
            for data in _copied(e.data, bar):
                f.write(data)
        elif e.data:
            f.write(e.data)
        if e.size % BLOCK:
            f.write(bytes(BLOCK - e.size % BLOCK))
    end = 2 * BLOCK
    total = f.tell() + end
    if total % RECORD:
        end += RECORD - total % RECORD
    f.write(bytes(end))


def write_dir(root: Path, files: list[StoreFile], bar: tqdm) -> None:
    """The files under `root` (which exists), each synced to disk."""
    for e in files:
        path = root / e.name.rstrip("/")
        if e.data is None:
            path.mkdir(mode=DIR_MODE, exist_ok=True)
            continue
        with open(path, "wb") as f:
            if isinstance(e.data, CheckedBlob):
                for data in _copied(e.data, bar):
                    f.write(data)
            else:
                f.write(e.data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(path, FILE_MODE)
