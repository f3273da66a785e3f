"""What an image is once opened: its config and its layers, wherever their bytes live.

Modelled on go-containerregistry's small Image/Layer interfaces: a format's reader turns a
reference into an `Image`; its writer turns an `OutputImage` into a daemon tag, an archive or a
layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from slimmer.errors import CorruptImageError, SlimError
from slimmer.image.blob import Blob
from slimmer.image.digest import Digest
from slimmer.image.store import CheckedBlob, parse_json


@dataclass(frozen=True)
class Layer:
    """One layer as stored by the source (possibly compressed)."""

    blob: Blob
    media_type: str
    diff_id: Digest  # digest of the uncompressed tar, from the config's rootfs.diff_ids
    digest: Digest | None = None  # digest of the stored bytes, when the source names one


@dataclass
class Image:
    """An opened source image. Its layers' bytes stay where the source keeps them."""

    reference: str  # what the user named, e.g. "docker-archive:app.tar"
    config_bytes: bytes
    layers: list[Layer]
    repo_tags: list[str] = field(default_factory=list)

    @cached_property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(self.config_bytes)
        return config

    @property
    def config_digest(self) -> Digest:
        """The image ID as Docker shows it."""
        return Digest.of(self.config_bytes)


def config_diff_ids(config_bytes: bytes, what: str, n_layers: int) -> list[Digest]:
    """Parse a source's image config enough to trust it; return its diff_ids."""
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
    try:
        return [Digest(d) for d in diff_ids]
    except CorruptImageError as e:
        raise CorruptImageError(f"{what}: diff_id: {e}") from None


@dataclass(frozen=True)
class OutputImage:
    """An image to write: its config and its layers as uncompressed tars, bottom first."""

    config_bytes: bytes
    layers: list[Blob]  # uncompressed tars whose sha256 are the config's diff_ids
    tags: list[str] = field(default_factory=list)  # "name:tag" for the daemon / archive

    @property
    def config_digest(self) -> Digest:
        """The image ID it will have."""
        return Digest.of(self.config_bytes)

    def checked(self) -> CheckedImage:
        """The image with its config checked against its layers: what every writer writes."""
        try:
            config = json.loads(self.config_bytes)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SlimError(f"cannot write the image: its config is not valid JSON ({e})") from None
        rootfs = config.get("rootfs") if isinstance(config, dict) else None
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        if not isinstance(diff_ids, list):
            raise SlimError("cannot write the image: its config has no rootfs.diff_ids")
        if len(diff_ids) != len(self.layers):
            raise SlimError(f"cannot write the image: its config lists {len(diff_ids)} diff_ids "
                            f"for {len(self.layers)} layers")
        layers = []
        for i, (blob, text) in enumerate(zip(self.layers, diff_ids), 1):
            try:
                diff_id = Digest(text)
            except CorruptImageError:
                diff_id = None
            if diff_id is None or diff_id.algorithm != "sha256":  # what Docker accepts in a config
                raise SlimError(f"cannot write the image: bad diff_id {text!r}")
            layers.append(CheckedBlob(blob, diff_id, f"layer {i} ({diff_id.short})"))
        return CheckedImage(self.config_bytes, self.config_digest, layers)


@dataclass(frozen=True)
class CheckedImage:
    """An OutputImage whose config names its layers: each layer is checked as it is copied."""

    config_bytes: bytes
    config_digest: Digest
    layers: list[CheckedBlob]

    @property
    def size(self) -> int:
        """Bytes of its layers as written (uncompressed)."""
        return sum(layer.blob.size for layer in self.layers)
