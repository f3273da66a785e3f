"""OCI image layouts: a directory (`oci:DIR[:REF]`) or a tar of one (`oci-archive:PATH[:REF]`).

Both are read in place: blobs of a directory are its files, blobs of an archive are regions
of the tar (see dockerarchive.TarIndex). index.json picks the manifest (by the
org.opencontainers.image.ref.name annotation, by `@N`, or the only one); an image index
(or Docker manifest list) is followed to the manifest for this machine's platform, else
linux/amd64.
"""

from __future__ import annotations

import hashlib
import platform
import re
from pathlib import Path
from typing import Any, Protocol

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image.blob import Blob
from slimmer.image.dockerarchive import JSON_LIMIT, TarIndex, check_config, open_tar, parse_json, safe_name
from slimmer.image.layers import iter_blob, short, split_digest
from slimmer.image.model import Image, Layer
from slimmer.image.reference import is_valid_tag, normalize_tag
from slimmer.progress import QUIET, Progress

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
CONFIG_TYPES = (OCI_CONFIG, DOCKER_CONFIG)


class Store(Protocol):
    def exists(self, name: str) -> bool: ...
    def blob(self, name: str, what: str = "file") -> Blob: ...
    def read(self, name: str, what: str = "file", limit: int = JSON_LIMIT) -> bytes: ...


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

    def read(self, name: str, what: str = "file", limit: int = JSON_LIMIT) -> bytes:
        blob = self.blob(name, what)
        if blob.size > limit:
            raise CorruptImageError(f"{self.label}: {what} {name!r} is implausibly large ({blob.size} bytes)")
        return b"".join(iter_blob(blob))


def host_platform() -> tuple[str, str, str | None]:
    """(os, architecture, variant) of this machine in OCI/Go terms."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x",
            "riscv64": "riscv64"}.get(machine)
    if arch is None and machine.startswith("armv"):
        return "linux", "arm", f"v{machine[4]}"
    return "linux", arch or machine, None


def _blob_name(digest: Any, what: str, label: str) -> str:
    if not isinstance(digest, str):
        raise CorruptImageError(f"{label}: {what}: missing digest")
    try:
        alg, hexpart = split_digest(digest)
    except CorruptImageError as e:
        raise CorruptImageError(f"{label}: {what}: {e}") from None
    return f"blobs/{alg}/{hexpart}"


def _check_descriptor(desc: Any, what: str, label: str) -> dict:
    if not isinstance(desc, dict):
        raise CorruptImageError(f"{label}: {what}: descriptor is not a JSON object")
    if not isinstance(desc.get("size"), int) or desc["size"] < 0:
        raise CorruptImageError(f"{label}: {what}: descriptor has no valid size")
    _blob_name(desc.get("digest"), what, label)
    return desc


def _read_verified(store: Store, desc: dict, what: str, label: str) -> bytes:
    """A small blob (manifest, index, config), checked against its descriptor's digest and size."""
    name = _blob_name(desc.get("digest"), what, label)
    data = store.read(name, f"{what} blob {short(desc['digest'])}")
    alg = desc["digest"].split(":", 1)[0]
    actual = f"{alg}:{hashlib.new(alg, data).hexdigest()}"
    if actual != desc["digest"]:
        raise CorruptImageError(f"{label}: {what} blob {short(desc['digest'])} does not match its "
                                f"digest (content is {short(actual)})")
    if len(data) != desc["size"]:
        raise CorruptImageError(f"{label}: {what} blob {short(desc['digest'])} is {len(data)} bytes, "
                                f"its descriptor says {desc['size']}")
    return data


def _ref_names(desc: dict) -> list[str]:
    ann = desc.get("annotations") if isinstance(desc.get("annotations"), dict) else {}
    return [v for k in (REF_NAME, CONTAINERD_NAME) if isinstance(v := ann.get(k), str)]


def _describe(i: int, desc: dict) -> str:
    names = _ref_names(desc)
    return f"@{i} {names[0]}" if names else f"@{i}"


def select_descriptor(manifests: list, ref: str | None, label: str) -> dict:
    if not all(isinstance(d, dict) for d in manifests):
        raise CorruptImageError(f"{label}: index.json: a manifests entry is not a JSON object")
    if ref is not None and re.fullmatch(r"@[0-9]+", ref):
        n = int(ref[1:])
        if n >= len(manifests):
            raise SlimError(f"{label}: layout holds {len(manifests)} image"
                            f"{'s' if len(manifests) != 1 else ''}; there is no {ref} (they are numbered from @0)")
        return manifests[n]
    if ref is not None:
        for desc in manifests:
            ann = desc.get("annotations") if isinstance(desc.get("annotations"), dict) else {}
            if ann.get(REF_NAME) == ref:
                return desc
        want = normalize_tag(ref)
        for desc in manifests:
            ann = desc.get("annotations") if isinstance(desc.get("annotations"), dict) else {}
            if any(isinstance(ann.get(k), str) and normalize_tag(ann[k]) == want
                   for k in (REF_NAME, CONTAINERD_NAME)):
                return desc
        listing = ", ".join(_describe(i, d) for i, d in enumerate(manifests)) or "nothing"
        raise SlimError(f"{label}: no image named {ref} in the layout (it holds: {listing})")
    if not manifests:
        raise CorruptImageError(f"{label}: index.json lists no images")
    if len(manifests) > 1 and len({d.get("digest") for d in manifests}) > 1:
        listing = ", ".join(_describe(i, d) for i, d in enumerate(manifests))
        raise SlimError(f"{label}: layout holds {len(manifests)} images; choose one with :REF ({listing})")
    return manifests[0]


def _platform_of(desc: dict) -> tuple[str, str, str | None] | None:
    p = desc.get("platform")
    if not isinstance(p, dict):
        return None
    def text(key: str) -> str | None:
        value = p.get(key)
        return value if isinstance(value, str) else None
    return text("os"), text("architecture"), text("variant")


def select_platform(manifests: list, label: str) -> dict:
    """The manifest of an index for this machine, else linux/amd64, else the only one."""
    if not all(isinstance(d, dict) for d in manifests):
        raise CorruptImageError(f"{label}: image index: a manifests entry is not a JSON object")
    candidates = [d for d in manifests if _platform_of(d) != ("unknown", "unknown", None)]
    host_os, host_arch, host_variant = host_platform()
    wanted = [(host_os, host_arch, host_variant), ("linux", "amd64", None)]
    for want_os, want_arch, want_variant in wanted:
        matches = [d for d in candidates
                   if (p := _platform_of(d)) and p[0] == want_os and p[1] == want_arch
                   and (want_variant is None or p[2] in (None, want_variant))]
        if matches:
            return matches[0]
    no_platform = [d for d in candidates if _platform_of(d) is None]
    if len(no_platform) == 1 and len(candidates) == 1:
        return no_platform[0]
    have = ", ".join("/".join(x for x in (_platform_of(d) or ("?", "?", None)) if x)
                     for d in candidates) or "nothing"
    raise SlimError(f"{label}: the image index has no manifest for {host_os}/{host_arch} "
                    f"or linux/amd64 (it has: {have})")


def read_layout(store: Store, ref: str | None, reference: str, label: str,
                require_oci_layout: bool = True) -> Image:
    """Open one image of an OCI layout held by `store` (a directory or an indexed tar)."""
    if store.exists("oci-layout"):
        layout = parse_json(store.read("oci-layout", "oci-layout"), f"{label}: oci-layout")
        if not isinstance(layout, dict) or not isinstance(layout.get("imageLayoutVersion"), str):
            raise CorruptImageError(f"{label}: oci-layout: no imageLayoutVersion")
    elif require_oci_layout:
        raise CorruptImageError(f"{label}: not an OCI image layout: no oci-layout file")
    if not store.exists("index.json"):
        raise CorruptImageError(f"{label}: not an OCI image layout: no index.json")
    index = parse_json(store.read("index.json", "index.json"), f"{label}: index.json")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise CorruptImageError(f"{label}: index.json: no manifests list")
    desc = select_descriptor(index["manifests"], ref, label)

    for _depth in range(8):
        desc = _check_descriptor(desc, "manifest", label)
        data = _read_verified(store, desc, "manifest", label)
        doc = parse_json(data, f"{label}: manifest {short(desc['digest'])}")
        if not isinstance(doc, dict):
            raise CorruptImageError(f"{label}: manifest {short(desc['digest'])}: not a JSON object")
        media_type = doc.get("mediaType") or desc.get("mediaType")
        if media_type in INDEX_TYPES or (media_type is None and "manifests" in doc):
            if not isinstance(doc.get("manifests"), list):
                raise CorruptImageError(f"{label}: image index {short(desc['digest'])}: no manifests list")
            desc = select_platform(doc["manifests"], label)
            continue
        if media_type in MANIFEST_TYPES or (media_type is None and "layers" in doc):
            return _image_from_manifest(store, desc, doc, reference, label)
        raise SlimError(f"{label}: {short(desc['digest'])} is not a container image "
                        f"(media type {media_type})")
    raise CorruptImageError(f"{label}: image indexes nested too deeply")


def _image_from_manifest(store: Store, desc: dict, manifest: dict, reference: str, label: str) -> Image:
    what = f"manifest {short(desc['digest'])}"
    config_desc = _check_descriptor(manifest.get("config"), f"{what}: config", label)
    if config_desc.get("mediaType") not in CONFIG_TYPES + (None,):
        raise SlimError(f"{label}: not a container image (config media type {config_desc['mediaType']})")
    layer_descs = manifest.get("layers")
    if not isinstance(layer_descs, list):
        raise CorruptImageError(f"{label}: {what}: no layers list")
    config_bytes = _read_verified(store, config_desc, "config", label)
    diff_ids = check_config(config_bytes, f"{label}: config {short(config_desc['digest'])}", len(layer_descs))

    layers = []
    for i, (ldesc, diff_id) in enumerate(zip(layer_descs, diff_ids), 1):
        ldesc = _check_descriptor(ldesc, f"layer {i}", label)
        media_type = ldesc.get("mediaType") or OCI_LAYER
        if "encrypted" in media_type:
            raise SlimError(f"{label}: layer {i} is encrypted ({media_type}); decrypt the image first")
        name = _blob_name(ldesc["digest"], f"layer {i}", label)
        blob = store.blob(name, f"layer {i} blob {short(ldesc['digest'])}")
        if blob.size != ldesc["size"]:
            raise CorruptImageError(f"{label}: layer {i} blob {short(ldesc['digest'])} is {blob.size} "
                                    f"bytes, its descriptor says {ldesc['size']}")
        layers.append(Layer(blob=blob, media_type=media_type, diff_id=diff_id, digest=ldesc["digest"]))

    tags = []
    ann = desc.get("annotations") if isinstance(desc.get("annotations"), dict) else {}
    if isinstance(ann.get(CONTAINERD_NAME), str):
        tags.append(normalize_tag(ann[CONTAINERD_NAME]))
    elif isinstance(ann.get(REF_NAME), str) and ":" in ann[REF_NAME] and is_valid_tag(ann[REF_NAME]):
        tags.append(normalize_tag(ann[REF_NAME]))  # a full NAME:TAG (not just "latest")
    return Image(reference=reference, config_bytes=config_bytes, layers=layers, repo_tags=tags,
                 manifest_digest=desc["digest"])


def read_oci_dir(path: Path | str, ref: str | None, reference: str) -> Image:
    path = Path(path)
    if not path.exists():
        raise SlimError(f"no such directory: {path}")
    if not path.is_dir():
        raise SlimError(f"{path}: not a directory (for an archive use oci-archive:{path})")
    return read_layout(DirStore(path), ref, reference, str(path))


def read_oci_archive(path: Path | str, ref: str | None, reference: str, workdir: Path,
                     progress: Progress = QUIET) -> Image:
    path = Path(path)
    index: TarIndex = open_tar(path, Path(workdir), str(path), progress)
    return read_layout(index, ref, reference, str(path))
