"""OCI image layouts, as a directory (`oci:DIR[:REF]`) or a tar of one (`oci-archive:PATH[:REF]`).

Reading works in place: blobs of a directory are its files, blobs of an archive are regions of
the tar (see store.py). index.json picks the manifest (by the org.opencontainers.image.ref.name
annotation, by `@N`, or the only one); an image index (or Docker manifest list) is followed to
the manifest for this machine's platform, else linux/amd64. Every blob read is checked against
its descriptor. Writing produces one manifest with uncompressed layers, named by `ref_name`.
"""

from __future__ import annotations

import platform
from pathlib import Path

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image.atomic import atomic_dir, atomic_file
from slimmer.image.digest import Descriptor, Digest, Platform
from slimmer.image.mediatypes import (
    CONFIG_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
)
from slimmer.image.model import CheckedImage, Image, Layer, config_diff_ids
from slimmer.image.reference import ImageRef, is_valid_tag, normalize_tag
from slimmer.image.store import (
    DirStore,
    Store,
    StoreFile,
    open_archive,
    parse_json,
    read_json,
    read_small,
    stable_json,
    with_parents,
    write_dir,
    write_tar,
)
from slimmer.progress import QUIET, Progress

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
MAX_INDEX_DEPTH = 8

# --- reading ------------------------------------------------------------------------------------


def host_platform() -> Platform:
    """This machine in OCI/Go terms."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x",
            "riscv64": "riscv64"}.get(machine)
    if arch is None and machine.startswith("armv"):
        return Platform("linux", "arm", f"v{machine[4]}")
    return Platform("linux", arch or machine)


def _descriptors(entries: object, what: str) -> list[Descriptor]:
    if not isinstance(entries, list):
        raise CorruptImageError(f"{what}: no manifests list")
    return [Descriptor.parse(entry, f"{what}: manifests[{i}]") for i, entry in enumerate(entries)]


def _read_verified(store: Store, desc: Descriptor, what: str) -> bytes:
    """A small blob (manifest, index, config), checked against its descriptor's digest and size."""
    data = read_small(store, desc.digest.blob_path, f"{what} blob {desc.digest.short}")
    actual = Digest.of(data, desc.digest.algorithm)
    if actual != desc.digest:
        raise CorruptImageError(f"{store.label}: {what} blob {desc.digest.short} does not match its "
                                f"digest (content is {actual.short})")
    if len(data) != desc.size:
        raise CorruptImageError(f"{store.label}: {what} blob {desc.digest.short} is {len(data)} bytes, "
                                f"its descriptor says {desc.size}")
    return data


def _names(desc: Descriptor) -> list[str]:
    return [desc.annotations[key] for key in (REF_NAME, CONTAINERD_NAME) if key in desc.annotations]


def _describe(i: int, desc: Descriptor) -> str:
    names = _names(desc)
    return f"@{i} {names[0]}" if names else f"@{i}"


def _select(manifests: list[Descriptor], ref: ImageRef, label: str) -> Descriptor:
    """The manifest `ref` names: by `@N`, by ref.name (exact, then as a normalised tag), or the only one."""
    n = ref.nth(len(manifests), f"{label}: layout")
    if n is not None:
        return manifests[n]
    if ref.ref is not None:
        for desc in manifests:
            if desc.annotations.get(REF_NAME) == ref.ref:
                return desc
        want = normalize_tag(ref.ref)
        for desc in manifests:
            if any(normalize_tag(name) == want for name in _names(desc)):
                return desc
        listing = ", ".join(_describe(i, d) for i, d in enumerate(manifests)) or "nothing"
        raise SlimError(f"{label}: no image named {ref.ref} in the layout (it holds: {listing})")
    if not manifests:
        raise CorruptImageError(f"{label}: index.json lists no images")
    if len({d.digest for d in manifests}) > 1:
        listing = ", ".join(_describe(i, d) for i, d in enumerate(manifests))
        raise SlimError(f"{label}: layout holds {len(manifests)} images; choose one with :REF ({listing})")
    return manifests[0]


def _select_platform(manifests: list[Descriptor], label: str) -> Descriptor:
    """The manifest of an index for this machine, else linux/amd64, else the only one."""
    candidates = [d for d in manifests if d.platform != Platform("unknown", "unknown")]  # not attestations
    host = host_platform()
    for want in (host, Platform("linux", "amd64")):
        for desc in candidates:
            have = desc.platform
            if have is not None and have.os == want.os and have.architecture == want.architecture \
                    and (want.variant is None or have.variant in (None, want.variant)):
                return desc
    if len(candidates) == 1 and candidates[0].platform is None:
        return candidates[0]
    have_all = ", ".join(str(d.platform or Platform("?", "?")) for d in candidates) or "nothing"
    raise SlimError(f"{label}: the image index has no manifest for {host.os}/{host.architecture} "
                    f"or linux/amd64 (it has: {have_all})")


def read_layout(store: Store, ref: ImageRef, require_oci_layout: bool = True) -> Image:
    """Open the image `ref` selects in an OCI layout held by `store` (a directory or an indexed tar)."""
    label = store.label
    if store.exists(LAYOUT_FILE):
        layout = read_json(store, LAYOUT_FILE)
        if not isinstance(layout, dict) or not isinstance(layout.get("imageLayoutVersion"), str):
            raise CorruptImageError(f"{label}: oci-layout: no imageLayoutVersion")
    elif require_oci_layout:
        raise CorruptImageError(f"{label}: not an OCI image layout: no oci-layout file")
    if not store.exists(INDEX_FILE):
        raise CorruptImageError(f"{label}: not an OCI image layout: no index.json")
    index = read_json(store, INDEX_FILE)
    if not isinstance(index, dict):
        raise CorruptImageError(f"{label}: index.json: no manifests list")
    desc = _select(_descriptors(index.get("manifests"), f"{label}: index.json"), ref, label)

    for _depth in range(MAX_INDEX_DEPTH):
        doc = parse_json(_read_verified(store, desc, "manifest"), f"{label}: manifest {desc.digest.short}")
        if not isinstance(doc, dict):
            raise CorruptImageError(f"{label}: manifest {desc.digest.short}: not a JSON object")
        media_type = doc.get("mediaType") or desc.media_type
        if media_type in INDEX_TYPES or (media_type is None and "manifests" in doc):
            nested = _descriptors(doc.get("manifests"), f"{label}: image index {desc.digest.short}")
            desc = _select_platform(nested, label)
            continue
        if media_type in MANIFEST_TYPES or (media_type is None and "layers" in doc):
            return _image_from_manifest(store, desc, doc, ref)
        raise SlimError(f"{label}: {desc.digest.short} is not a container image (media type {media_type})")
    raise CorruptImageError(f"{label}: image indexes nested too deeply")


def _image_from_manifest(store: Store, desc: Descriptor, manifest: dict[str, object], ref: ImageRef) -> Image:
    label = store.label
    what = f"{label}: manifest {desc.digest.short}"
    config_desc = Descriptor.parse(manifest.get("config"), f"{what}: config")
    if config_desc.media_type not in CONFIG_TYPES + (None,):
        raise SlimError(f"{label}: not a container image (config media type {config_desc.media_type})")
    layer_objs = manifest.get("layers")
    if not isinstance(layer_objs, list):
        raise CorruptImageError(f"{what}: no layers list")
    config_bytes = _read_verified(store, config_desc, "config")
    diff_ids = config_diff_ids(config_bytes, f"{label}: config {config_desc.digest.short}", len(layer_objs))

    layers = []
    for i, (layer_obj, diff_id) in enumerate(zip(layer_objs, diff_ids), 1):
        layer_desc = Descriptor.parse(layer_obj, f"{label}: layer {i}")
        media_type = layer_desc.media_type or OCI_LAYER
        if "encrypted" in media_type:
            raise SlimError(f"{label}: layer {i} is encrypted ({media_type}); decrypt the image first")
        blob = store.blob(layer_desc.digest.blob_path, f"layer {i} blob {layer_desc.digest.short}")
        if blob.size != layer_desc.size:
            raise CorruptImageError(f"{label}: layer {i} blob {layer_desc.digest.short} is {blob.size} "
                                    f"bytes, its descriptor says {layer_desc.size}")
        layers.append(Layer(blob=blob, media_type=media_type, diff_id=diff_id, digest=layer_desc.digest))

    tags = []
    if CONTAINERD_NAME in desc.annotations:
        tags.append(normalize_tag(desc.annotations[CONTAINERD_NAME]))
    elif ":" in (name := desc.annotations.get(REF_NAME, "")) and is_valid_tag(name):
        tags.append(normalize_tag(name))  # a full NAME:TAG (not just "latest")
    return Image(reference=str(ref), config_bytes=config_bytes, layers=layers, repo_tags=tags)


def read_oci_dir(path: Path, ref: ImageRef) -> Image:
    if not path.exists():
        raise SlimError(f"no such directory: {path}")
    if not path.is_dir():
        raise SlimError(f"{path}: not a directory (for an archive use oci-archive:{path})")
    return read_layout(DirStore(path), ref)


def read_oci_archive(path: Path, ref: ImageRef, workdir: Path, progress: Progress = QUIET) -> Image:
    return read_layout(open_archive(path, workdir, progress), ref)


# --- writing ------------------------------------------------------------------------------------

def layout_files(image: CheckedImage, ref_name: str | None) -> list[StoreFile]:
    """An OCI layout holding `image` (uncompressed layers), named `ref_name` in index.json."""
    config = Descriptor(OCI_CONFIG, image.config_digest, len(image.config_bytes))
    layers = [Descriptor(OCI_LAYER, layer.digest, layer.blob.size) for layer in image.layers]
    manifest_bytes = stable_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.to_json(),
                                  "layers": [layer.to_json() for layer in layers]})
    manifest = Descriptor(OCI_MANIFEST, Digest.of(manifest_bytes), len(manifest_bytes),
                          {REF_NAME: ref_name} if ref_name else {})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [manifest.to_json()]}
    files = [StoreFile(LAYOUT_FILE, stable_json({"imageLayoutVersion": "1.0.0"})),
             StoreFile(INDEX_FILE, stable_json(index)),
             StoreFile(config.digest.blob_path, image.config_bytes),
             StoreFile(manifest.digest.blob_path, manifest_bytes)]
    seen = {config.digest, manifest.digest}
    for layer in image.layers:
        if layer.digest not in seen:  # a layer repeated in the stack is stored once
            seen.add(layer.digest)
            files.append(StoreFile(layer.digest.blob_path, layer))
    return with_parents(files)


def _is_layout(path: Path) -> bool:
    return (path / LAYOUT_FILE).is_file()


def write_oci_dir(image: CheckedImage, dest: Path, ref_name: str | None, progress: Progress = QUIET) -> None:
    """Write `image` as a layout directory; an existing one is replaced whole, anything else is refused."""
    with atomic_dir(dest, _is_layout, "an OCI layout") as tmp, progress.bytes(f"writing {dest}", image.size) as bar:
        write_dir(tmp, layout_files(image, ref_name), bar)


def write_oci_archive(image: CheckedImage, dest: Path, ref_name: str | None, progress: Progress = QUIET) -> None:
    """Write `image` as a tar of a layout, atomically."""
    with atomic_file(dest) as f, progress.bytes(f"writing {dest}", image.size) as bar:
        write_tar(f, layout_files(image, ref_name), bar)
