"""`docker save` archives, read in place.

The outer tar is indexed once (member name -> data offset and size, from the tar headers
alone) and every layer becomes a `Blob` region of the archive file: nothing is extracted.
Both layouts are understood: the legacy one (manifest.json naming `<id>/layer.tar` and
`<id>.json`) and Docker 25+'s, which is an OCI image layout with a manifest.json beside it.
A tar holding only an OCI layout (an oci-archive) is read through its index.json.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image import compression
from slimmer.image.blob import Blob
from slimmer.image.layers import iter_blob, short
from slimmer.image.model import Image, Layer
from slimmer.image.reference import normalize_tag
from slimmer.progress import QUIET, Progress

JSON_LIMIT = 64 << 20  # manifests and configs are small; refuse absurd ones

DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

_SNIFFED_MEDIA_TYPES = {
    compression.TAR: DOCKER_LAYER,
    compression.GZIP: DOCKER_LAYER_GZIP,
    compression.ZSTD: OCI_LAYER + "+zstd",
}

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def safe_name(name: str, what: str) -> str:
    """A relative archive path normalised ("./a//b/" -> "a/b"); CorruptImageError if it escapes."""
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


@dataclass(frozen=True)
class Member:
    name: str
    offset: int  # of the data in the archive file
    size: int
    kind: str  # "file" | "dir" | "symlink" | "hardlink" | "other"
    linkname: str = ""


class TarIndex:
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
                block = f.read(512)
            if len(block) < 512:
                raise CorruptImageError(f"{self.label}: archive is truncated (at byte {end})")
            if block != bytes(512):
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
            kind = "dir"
        elif ti.isreg():
            kind = "file"
        elif ti.issym():
            kind = "symlink"
        elif ti.islnk():
            kind = "hardlink"
        else:
            kind = "other"
        if kind == "file" and ti.offset_data + ti.size > file_size:
            raise CorruptImageError(f"{self.label}: archive is truncated (member {name!r} "
                                    f"needs {ti.offset_data + ti.size} bytes, file has {file_size})")
        if kind != "dir" and name in self.members and self.members[name].kind != "dir":
            raise CorruptImageError(f"{self.label}: two archive members are named {name!r}")
        self.members[name] = Member(name, ti.offset_data, ti.size if kind == "file" else 0,
                                    kind, ti.linkname)

    def resolve(self, name: str, what: str = "file") -> Member:
        """The regular-file member `name` refers to, following symlinks and hard links."""
        current = safe_name(name, f"{self.label}: {what}")
        for _ in range(40):
            m = self.members.get(current)
            if m is None:
                raise CorruptImageError(f"{self.label}: missing {what} {current!r}")
            if m.kind == "file":
                return m
            if m.kind == "symlink":
                target = m.linkname if m.linkname.startswith("/") else \
                    posixpath.join(posixpath.dirname(current), m.linkname)
                current = safe_name(posixpath.normpath(target) if not target.startswith("/") else target,
                                    f"{self.label}: symlink {current!r}")
            elif m.kind == "hardlink":
                current = safe_name(m.linkname, f"{self.label}: hard link {current!r}")
            else:
                raise CorruptImageError(f"{self.label}: {what} {current!r} is not a regular file")
        raise CorruptImageError(f"{self.label}: too many levels of links at {name!r}")

    # The "store" interface shared with ocilayout.DirStore.
    def exists(self, name: str) -> bool:
        try:
            self.resolve(name)
            return True
        except CorruptImageError:
            return False

    def blob(self, name: str, what: str = "file") -> Blob:
        m = self.resolve(name, what)
        return Blob(self.path, m.offset, m.size)

    def read(self, name: str, what: str = "file", limit: int = JSON_LIMIT) -> bytes:
        blob = self.blob(name, what)
        if blob.size > limit:
            raise CorruptImageError(f"{self.label}: {what} {name!r} is implausibly large ({blob.size} bytes)")
        return b"".join(iter_blob(blob))


def parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        msg = str(e).splitlines()[0]
        raise CorruptImageError(f"{what}: bad JSON ({msg})") from None


def check_config(config_bytes: bytes, what: str, n_layers: int) -> list[str]:
    """Parse an image config enough to trust it; return its diff_ids."""
    config = parse_json(config_bytes, what)
    if not isinstance(config, dict):
        raise CorruptImageError(f"{what}: not a JSON object")
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise CorruptImageError(f"{what}: no rootfs.diff_ids list")
    if len(diff_ids) != n_layers:
        raise CorruptImageError(f"{what}: config lists {len(diff_ids)} diff_ids but the manifest "
                                f"lists {n_layers} layers")
    return diff_ids


def sniff_media_type(blob: Blob, fallback: str) -> str:
    kind = compression.detect(blob.read_at(0, compression.SNIFF_SIZE))
    return _SNIFFED_MEDIA_TYPES.get(kind, fallback)


def open_tar(path: Path, workdir: Path, label: str, progress: Progress = QUIET) -> TarIndex:
    """Index an archive; a gzip/zstd/xz/bzip2-compressed one is first decompressed into workdir."""
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
    if kind in (None, compression.TAR):
        return TarIndex(path, label)
    workdir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="archive-", suffix=".tar", dir=workdir)
    try:
        with os.fdopen(fd, "wb") as out, progress.bytes(f"decompressing {path.name}", size) as bar:
            def chunks():
                for data in iter_blob(Blob(path, 0, size)):
                    bar.update(len(data))
                    yield data
            try:
                for data in compression.decompress_chunks(kind, chunks()):
                    out.write(data)
            except SlimError as e:
                raise CorruptImageError(f"{label}: {e}") from None
        return TarIndex(tmp, label)
    except BaseException:
        os.unlink(tmp)
        raise


def _describe(i: int, entry: Any) -> str:
    tags = entry.get("RepoTags") if isinstance(entry, dict) else None
    if isinstance(tags, list) and tags:
        return f"@{i} " + " ".join(str(t) for t in tags)
    return f"@{i}"


def select_entry(entries: list, ref: str | None, label: str) -> tuple[int, dict]:
    """Pick one manifest.json entry: by `@N`, by RepoTag, or the only one."""
    if ref is not None and re.fullmatch(r"@[0-9]+", ref):
        n = int(ref[1:])
        if n >= len(entries):
            raise SlimError(f"{label}: archive holds {len(entries)} image"
                            f"{'s' if len(entries) != 1 else ''}; there is no {ref} (they are numbered from @0)")
        return n, entries[n]
    if ref is not None:
        want = normalize_tag(ref)
        for i, entry in enumerate(entries):
            tags = entry.get("RepoTags") or []
            if isinstance(tags, list) and any(isinstance(t, str) and normalize_tag(t) == want for t in tags):
                return i, entry
        listing = ", ".join(_describe(i, e) for i, e in enumerate(entries))
        raise SlimError(f"{label}: no image tagged {ref} in the archive (it holds: {listing})")
    if not entries:
        raise CorruptImageError(f"{label}: manifest.json lists no images")
    if len(entries) > 1:
        listing = ", ".join(_describe(i, e) for i, e in enumerate(entries))
        raise SlimError(f"{label}: archive holds {len(entries)} images; choose one with :REF ({listing})")
    return 0, entries[0]


def read_docker_archive(path: Path | str, ref: str | None, reference: str, workdir: Path,
                        progress: Progress = QUIET) -> Image:
    """Open one image of a `docker save` archive (or a tar holding an OCI layout)."""
    path = Path(path)
    label = str(path)
    index = open_tar(path, Path(workdir), label, progress)
    if "manifest.json" not in index.members:
        if "index.json" in index.members:
            from slimmer.image.ocilayout import read_layout
            return read_layout(index, ref, reference, label, require_oci_layout=False)
        raise CorruptImageError(f"{label}: not a docker-archive: no manifest.json in the archive")

    entries = parse_json(index.read("manifest.json", "manifest.json"), f"{label}: manifest.json")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CorruptImageError(f"{label}: manifest.json: expected a list of images")
    n, entry = select_entry(entries, ref, label)
    what = f"{label}: manifest.json entry @{n}"

    config_path = entry.get("Config")
    layer_paths = entry.get("Layers")
    if not isinstance(config_path, str):
        raise CorruptImageError(f"{what}: no Config path")
    if not isinstance(layer_paths, list) or not all(isinstance(p, str) for p in layer_paths):
        raise CorruptImageError(f"{what}: no Layers list")
    repo_tags = entry.get("RepoTags") or []
    if not isinstance(repo_tags, list) or not all(isinstance(t, str) for t in repo_tags):
        raise CorruptImageError(f"{what}: RepoTags is not a list of names")

    config_name = safe_name(config_path, f"{what}: Config")
    config_bytes = index.read(config_name, "config")
    _verify_named_digest(config_name, config_bytes, label, "config")
    diff_ids = check_config(config_bytes, f"{label}: config {config_name}", len(layer_paths))

    layers = []
    for i, (layer_path, diff_id) in enumerate(zip(layer_paths, diff_ids), 1):
        name = safe_name(layer_path, f"{what}: layer {i}")
        blob = index.blob(name, f"layer {i}")
        digest = _digest_from_blob_path(name)
        layers.append(Layer(blob=blob, media_type=sniff_media_type(blob, DOCKER_LAYER),
                            diff_id=diff_id, digest=digest))
    return Image(reference=reference, config_bytes=config_bytes, layers=layers,
                 repo_tags=list(repo_tags), manifest_digest=None)


def _digest_from_blob_path(name: str) -> str | None:
    """Docker 25+ archives store blobs as blobs/sha256/<hex>: the name is the digest."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs" and parts[1] == "sha256" and _HEX64.match(parts[2]):
        return f"sha256:{parts[2]}"
    return None


def _verify_named_digest(name: str, data: bytes, label: str, what: str) -> None:
    import hashlib

    digest = _digest_from_blob_path(name)
    if digest is None:
        base = posixpath.basename(name)
        stem = base[:-5] if base.endswith(".json") else None
        if stem and _HEX64.match(stem):
            digest = f"sha256:{stem}"
    if digest is None:
        return
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise CorruptImageError(f"{label}: {what} {name!r} does not match its digest "
                                f"(name says {short(digest)}, content is {short(actual)})")
