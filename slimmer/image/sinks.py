"""Write an OutputImage: docker-archive, oci, oci-archive or the Docker daemon.

Output is deterministic (sorted tar members, mtime 0, uid/gid 0, fixed modes, compact JSON
with sorted keys), so the same OutputImage always gives the same bytes. Files and layouts are
written atomically (see atomic.py); a daemon tag is only set by a load that succeeded. Every
layer's sha256 is checked against the config's diff_id while it is copied, so an inconsistent
image is never written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from slimmer.errors import CorruptImageError, SlimError, UsageError
from slimmer.image import daemon
from slimmer.image.atomic import atomic_dir, atomic_file
from slimmer.image.blob import Blob
from slimmer.image.layers import iter_blob, short, split_digest
from slimmer.image.model import OutputImage
from slimmer.image.ocilayout import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, REF_NAME
from slimmer.image.reference import (
    DAEMON,
    DOCKER_ARCHIVE,
    OCI,
    OCI_ARCHIVE,
    ImageRef,
    as_ref,
    is_image_id,
    parse_reference,
    parse_tag,
    same_target,
)
from slimmer.progress import QUIET, Progress

FILE_MODE = 0o644
DIR_MODE = 0o755
BLOCK = 512
RECORD = BLOCK * 20


def stable_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


# --- what gets written: a sorted list of entries ------------------------------------------

@dataclass(frozen=True)
class _LayerData:
    blob: Blob
    digest: str  # the diff_id, checked while copying
    label: str


@dataclass(frozen=True)
class _Entry:
    name: str  # relative path; directories end with "/"
    data: bytes | _LayerData | None = None  # None for directories

    @property
    def size(self) -> int:
        if self.data is None:
            return 0
        return self.data.blob.size if isinstance(self.data, _LayerData) else len(self.data)


def _with_dirs(entries: list[_Entry]) -> list[_Entry]:
    """Add the parent directories of every file, dedupe, sort by name."""
    by_name: dict[str, _Entry] = {}
    for e in entries:
        parts = e.name.rstrip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i]) + "/"
            by_name.setdefault(d, _Entry(d))
        by_name[e.name] = e
    return [by_name[k] for k in sorted(by_name)]


class _Copier:
    """Copies layer blobs, checking each one's digest, and drives the progress bar."""

    def __init__(self, bar) -> None:
        self.bar = bar

    def chunks(self, layer: _LayerData) -> Iterable[bytes]:
        alg, _ = split_digest(layer.digest)
        h = hashlib.new(alg)
        try:
            for data in iter_blob(layer.blob):
                h.update(data)
                self.bar.update(len(data))
                yield data
        except SlimError as e:
            raise type(e)(f"{layer.label}: {e}") from None
        actual = f"{alg}:{h.hexdigest()}"
        if actual != layer.digest:
            raise CorruptImageError(f"{layer.label}: content does not match the config's diff_id "
                                    f"(config says {layer.digest}, content is {actual})")


def _write_tar(f: BinaryIO, entries: list[_Entry], copier: _Copier) -> None:
    for e in entries:
        ti = tarfile.TarInfo(e.name.rstrip("/"))
        ti.mtime = 0
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        if e.data is None:
            ti.type, ti.mode, ti.size = tarfile.DIRTYPE, DIR_MODE, 0
        else:
            ti.type, ti.mode, ti.size = tarfile.REGTYPE, FILE_MODE, e.size
        f.write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if isinstance(e.data, _LayerData):
            for data in copier.chunks(e.data):
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


def _write_dir(root: Path, entries: list[_Entry], copier: _Copier) -> None:
    for e in entries:
        path = root / e.name.rstrip("/")
        if e.data is None:
            path.mkdir(mode=DIR_MODE, exist_ok=True)
            continue
        with open(path, "wb") as f:
            if isinstance(e.data, _LayerData):
                for data in copier.chunks(e.data):
                    f.write(data)
            else:
                f.write(e.data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(path, FILE_MODE)


# --- the image, checked ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Checked:
    config_bytes: bytes
    config_digest: str
    diff_ids: list[str]
    layers: list[_LayerData]


def _check(image: OutputImage) -> _Checked:
    try:
        config = json.loads(image.config_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SlimError(f"cannot write the image: its config is not valid JSON ({e})") from None
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list):
        raise SlimError("cannot write the image: its config has no rootfs.diff_ids")
    if len(diff_ids) != len(image.layers):
        raise SlimError(f"cannot write the image: its config lists {len(diff_ids)} diff_ids "
                        f"for {len(image.layers)} layers")
    for d in diff_ids:
        if not isinstance(d, str) or not d.startswith("sha256:"):
            raise SlimError(f"cannot write the image: bad diff_id {d!r}")
        split_digest(d)
    layers = [_LayerData(blob, d, f"layer {i} ({short(d)})")
              for i, (blob, d) in enumerate(zip(image.layers, diff_ids), 1)]
    return _Checked(image.config_bytes, _sha256(image.config_bytes), diff_ids, layers)


def _tags(image: OutputImage, explicit: str | None) -> list[str]:
    tags = [explicit] if explicit else list(image.tags)
    out = []
    for t in tags:
        t = parse_tag(t)
        if t not in out:
            out.append(t)
    return out


# --- docker-archive ---------------------------------------------------------------------------

def _split_tag(tag: str) -> tuple[str, str]:
    slash = tag.rfind("/")
    colon = tag.rfind(":")
    if colon > slash:
        return tag[:colon], tag[colon + 1:]
    return tag, "latest"


def docker_archive_entries(img: _Checked, tags: list[str]) -> list[_Entry]:
    """The legacy `docker save` layout, which every `docker load` accepts."""
    entries = []
    layer_paths = []
    chain = None
    parent_id = None
    for layer in img.layers:
        # ChainID as the OCI spec defines it: unique per position in the stack.
        chain = layer.digest if chain is None else _sha256(f"{chain} {layer.digest}".encode())
        layer_id = chain.split(":", 1)[1]
        v1 = {"id": layer_id}
        if parent_id:
            v1["parent"] = parent_id
        entries += [_Entry(f"{layer_id}/VERSION", b"1.0"),
                    _Entry(f"{layer_id}/json", stable_json(v1)),
                    _Entry(f"{layer_id}/layer.tar", layer)]
        layer_paths.append(f"{layer_id}/layer.tar")
        parent_id = layer_id
    config_name = img.config_digest.split(":", 1)[1] + ".json"
    entries.append(_Entry(config_name, img.config_bytes))
    manifest = [{"Config": config_name, "RepoTags": tags or None, "Layers": layer_paths}]
    entries.append(_Entry("manifest.json", stable_json(manifest)))
    if tags and parent_id:
        repos: dict[str, dict[str, str]] = {}
        for tag in tags:
            repo, t = _split_tag(tag)
            repos.setdefault(repo, {})[t] = parent_id
        entries.append(_Entry("repositories", stable_json(repos)))
    return _with_dirs(entries)


# --- OCI layout ---------------------------------------------------------------------------------

def oci_layout_entries(img: _Checked, ref_name: str | None) -> list[_Entry]:
    config_desc = {"mediaType": OCI_CONFIG, "digest": img.config_digest, "size": len(img.config_bytes)}
    layer_descs = [{"mediaType": OCI_LAYER, "digest": layer.digest, "size": layer.blob.size} for layer in img.layers]
    manifest = stable_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                            "config": config_desc, "layers": layer_descs})
    manifest_desc = {"mediaType": OCI_MANIFEST, "digest": _sha256(manifest), "size": len(manifest)}
    if ref_name:
        manifest_desc["annotations"] = {REF_NAME: ref_name}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [manifest_desc]}

    def blob_name(digest: str) -> str:
        alg, hexpart = split_digest(digest)
        return f"blobs/{alg}/{hexpart}"

    entries = [_Entry("oci-layout", stable_json({"imageLayoutVersion": "1.0.0"})),
               _Entry("index.json", stable_json(index)),
               _Entry(blob_name(img.config_digest), img.config_bytes),
               _Entry(blob_name(manifest_desc["digest"]), manifest)]
    seen = {img.config_digest, manifest_desc["digest"]}
    for layer in img.layers:
        if layer.digest not in seen:  # a layer repeated in the stack is stored once
            seen.add(layer.digest)
            entries.append(_Entry(blob_name(layer.digest), layer))
    return _with_dirs(entries)


def _is_oci_layout(path: Path) -> bool:
    return (path / "oci-layout").is_file()


# --- entry point ------------------------------------------------------------------------------

def _check_protect(dest: ImageRef, protect: Iterable[str] | None) -> None:
    for p in protect or ():
        try:
            pref = as_ref(p)
        except UsageError:
            continue
        if same_target(pref, dest):
            raise SlimError(f"refusing to overwrite {p} (it is the source image); "
                            "choose another destination")


def write_image(image: OutputImage, dest: ImageRef | str, workdir: Path, progress: Progress = QUIET,
                protect: set[str] | None = None) -> str:
    """Write `image` to `dest`; return a short description of what was written."""
    if isinstance(dest, str):
        dest = _parse_dest(dest)
    _check_protect(dest, protect)
    img = _check(image)
    total = sum(layer.blob.size for layer in img.layers)
    n = len(img.layers)
    summary = f"image {img.config_digest[:19]}, {n} layer{'s' if n != 1 else ''}, {_human(total)}"

    if dest.transport == DOCKER_ARCHIVE:
        tags = _tags(image, dest.ref)
        entries = docker_archive_entries(img, tags)
        with atomic_file(dest.path) as f, progress.bytes(f"writing {dest.path}", total) as bar:
            _write_tar(f, entries, _Copier(bar))
        return f"{dest.path} (docker-archive, {', '.join(tags) or 'untagged'}, {summary})"

    if dest.transport in (OCI, OCI_ARCHIVE):
        ref_name = dest.ref
        if ref_name is None and image.tags:
            ref_name = parse_tag(image.tags[0])
        entries = oci_layout_entries(img, ref_name)
        label = f"{dest.path}" + (f":{ref_name}" if ref_name else "")
        if dest.transport == OCI:
            with atomic_dir(dest.path, _is_oci_layout, "an OCI layout") as tmp, \
                    progress.bytes(f"writing {dest.path}", total) as bar:
                _write_dir(tmp, entries, _Copier(bar))
            return f"{label} (oci, {summary})"
        with atomic_file(dest.path) as f, progress.bytes(f"writing {dest.path}", total) as bar:
            _write_tar(f, entries, _Copier(bar))
        return f"{label} (oci-archive, {summary})"

    if dest.transport == DAEMON:
        return _write_daemon(img, dest, Path(workdir), progress, total, summary)
    raise SlimError(f"cannot write to transport {dest.transport!r}")


def _parse_dest(text: str) -> ImageRef:
    """Like parse_reference, but a destination need not exist: PATH.tar is a docker-archive."""
    try:
        return parse_reference(text)
    except UsageError:
        if text.endswith(".tar") and ":" not in text:
            return ImageRef(DOCKER_ARCHIVE, text, None)
        raise


def _write_daemon(img: _Checked, dest: ImageRef, workdir: Path, progress: Progress,
                  total: int, summary: str) -> str:
    tag = dest.path
    if "@" in tag or ":" not in tag.rsplit("/", 1)[-1] or is_image_id(tag):
        raise UsageError(f"cannot write to {dest}: give a NAME:TAG to tag the image with")
    tag = parse_tag(tag)
    client = daemon.connect()
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix="load-", suffix=".tar", dir=workdir)
    except OSError as e:
        raise SlimError(f"cannot use work directory {workdir}: {e.strerror or e}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f, progress.bytes("preparing the image", total) as bar:
            _write_tar(f, docker_archive_entries(img, [tag]), _Copier(bar))
        daemon.load(tmp, progress, client)
    finally:
        tmp.unlink(missing_ok=True)
    loaded = daemon.image_id(tag, client)
    if loaded != img.config_digest:
        raise SlimError(f"the Docker daemon did not tag {tag} with the loaded image "
                        f"(it points at {loaded or 'nothing'}, expected {img.config_digest})")
    return f"{tag} (docker-daemon, {summary})"
