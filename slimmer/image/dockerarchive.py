"""`docker save` archives (`docker-archive:PATH[:REF]`): read in place, written as `docker load` wants them.

Reading indexes the tar once (see store.TarStore): every layer is a `Blob` region of the archive,
nothing is extracted. Both layouts are understood: the legacy one (manifest.json naming
`<id>/layer.tar` and `<id>.json`) and Docker 25+'s, which is an OCI image layout with a
manifest.json beside it. A tar holding only an OCI layout (an oci-archive) is read through its
index.json. Writing produces the legacy layout, which every `docker load` accepts.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image import compression, ocilayout
from slimmer.image.atomic import atomic_file
from slimmer.image.blob import Blob
from slimmer.image.digest import Digest
from slimmer.image.mediatypes import DOCKER_LAYER, layer_media_type
from slimmer.image.model import CheckedImage, Image, Layer, config_diff_ids
from slimmer.image.reference import ImageRef, explicit_tag, normalize_tag
from slimmer.image.store import (
    StoreFile,
    open_archive,
    read_json,
    read_small,
    safe_name,
    stable_json,
    with_parents,
    write_tar,
)
from slimmer.progress import QUIET, Progress

MANIFEST = "manifest.json"

# --- reading ------------------------------------------------------------------------------------


def read_docker_archive(path: Path, ref: ImageRef, workdir: Path, progress: Progress = QUIET) -> Image:
    """Open the image `ref` selects in the `docker save` archive at `path` (or in a tar of an OCI layout)."""
    store = open_archive(path, workdir, progress)
    if not store.exists(MANIFEST):
        if store.exists("index.json"):
            return ocilayout.read_layout(store, ref, require_oci_layout=False)
        raise CorruptImageError(f"{store.label}: not a docker-archive: no manifest.json in the archive")

    entries = read_json(store, MANIFEST)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CorruptImageError(f"{store.label}: manifest.json: expected a list of images")
    n, entry = _select(entries, ref, store.label)
    what = f"{store.label}: manifest.json entry @{n}"

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
    config_bytes = read_small(store, config_name, "config")
    _check_named_digest(config_name, config_bytes, store.label)
    diff_ids = config_diff_ids(config_bytes, f"{store.label}: config {config_name}", len(layer_paths))

    layers = []
    for i, (layer_path, diff_id) in enumerate(zip(layer_paths, diff_ids), 1):
        name = safe_name(layer_path, f"{what}: layer {i}")
        blob = store.blob(name, f"layer {i}")
        layers.append(Layer(blob=blob, media_type=_sniffed_media_type(blob), diff_id=diff_id,
                            digest=Digest.from_blob_path(name)))
    return Image(reference=str(ref), config_bytes=config_bytes, layers=layers, repo_tags=list(repo_tags))


def _describe(i: int, entry: dict[str, Any]) -> str:
    tags = entry.get("RepoTags")
    if isinstance(tags, list) and tags:
        return f"@{i} " + " ".join(str(t) for t in tags)
    return f"@{i}"


def _select(entries: list[dict[str, Any]], ref: ImageRef, label: str) -> tuple[int, dict[str, Any]]:
    """Pick one manifest.json entry: by `@N`, by RepoTag, or the only one."""
    n = ref.nth(len(entries), f"{label}: archive")
    if n is not None:
        return n, entries[n]
    if ref.ref is not None:
        want = normalize_tag(ref.ref)
        for i, entry in enumerate(entries):
            tags = entry.get("RepoTags") or []
            if isinstance(tags, list) and any(isinstance(t, str) and normalize_tag(t) == want for t in tags):
                return i, entry
        listing = ", ".join(_describe(i, e) for i, e in enumerate(entries))
        raise SlimError(f"{label}: no image tagged {ref.ref} in the archive (it holds: {listing})")
    if not entries:
        raise CorruptImageError(f"{label}: manifest.json lists no images")
    if len(entries) > 1:
        listing = ", ".join(_describe(i, e) for i, e in enumerate(entries))
        raise SlimError(f"{label}: archive holds {len(entries)} images; choose one with :REF ({listing})")
    return 0, entries[0]


def _sniffed_media_type(blob: Blob) -> str:
    return layer_media_type(compression.detect(blob.read_at(0, compression.SNIFF_SIZE)), DOCKER_LAYER)


def _check_named_digest(name: str, data: bytes, label: str) -> None:
    """A config stored as `<hex>.json` (legacy) or `blobs/sha256/<hex>` (Docker 25+) must have that digest."""
    named = Digest.from_blob_path(name)
    stem = posixpath.basename(name).removesuffix(".json")
    if named is None and name.endswith(".json") and re.fullmatch(r"[0-9a-f]{64}", stem):
        named = Digest(f"sha256:{stem}")
    if named is None:
        return
    actual = Digest.of(data, named.algorithm)
    if actual != named:
        raise CorruptImageError(f"{label}: config {name!r} does not match its digest "
                                f"(name says {named.short}, content is {actual.short})")


# --- writing ------------------------------------------------------------------------------------

def archive_files(image: CheckedImage, tags: list[str]) -> list[StoreFile]:
    """The legacy `docker save` layout of `image`, tagged with `tags` (NAME:TAG, validated)."""
    files = []
    layer_paths = []
    chain: Digest | None = None
    parent_id = None
    for layer in image.layers:
        # ChainID as the OCI spec defines it: unique per position in the stack.
        chain = layer.digest if chain is None else Digest.of(f"{chain} {layer.digest}".encode())
        layer_id = chain.hex
        v1 = {"id": layer_id}
        if parent_id:
            v1["parent"] = parent_id
        files += [StoreFile(f"{layer_id}/VERSION", b"1.0"),
                  StoreFile(f"{layer_id}/json", stable_json(v1)),
                  StoreFile(f"{layer_id}/layer.tar", layer)]
        layer_paths.append(f"{layer_id}/layer.tar")
        parent_id = layer_id
    config_name = f"{image.config_digest.hex}.json"
    files.append(StoreFile(config_name, image.config_bytes))
    manifest = [{"Config": config_name, "RepoTags": tags or None, "Layers": layer_paths}]
    files.append(StoreFile(MANIFEST, stable_json(manifest)))
    if tags and parent_id:
        repos: dict[str, dict[str, str]] = {}
        for tag in tags:
            repository, name = explicit_tag(tag) or (tag, "latest")
            repos.setdefault(repository, {})[name] = parent_id
        files.append(StoreFile("repositories", stable_json(repos)))
    return with_parents(files)


def write_docker_archive(image: CheckedImage, dest: Path, tags: list[str], progress: Progress = QUIET) -> None:
    """Write `image` as a `docker save` tar at `dest`, atomically."""
    with atomic_file(dest) as f, progress.bytes(f"writing {dest}", image.size) as bar:
        write_tar(f, archive_files(image, tags), bar)

