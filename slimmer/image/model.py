"""What an image is once opened: its config and its layers, wherever their bytes live.

Modelled on go-containerregistry's small Image/Layer interfaces: a source turns a reference
into an `Image`; a sink turns an `OutputImage` into a daemon tag, an archive or a layout.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from slimmer.image.blob import Blob


@dataclass(frozen=True)
class Layer:
    """One layer as stored by the source (possibly compressed)."""

    blob: Blob
    media_type: str
    diff_id: str  # digest of the uncompressed tar, from the config's rootfs.diff_ids
    digest: str | None = None  # digest of the stored bytes, when the source names one


@dataclass
class Image:
    """An opened source image. Its layers' bytes stay where the source keeps them."""

    reference: str  # what the user named, e.g. "docker-archive:app.tar"
    config_bytes: bytes
    layers: list[Layer]
    repo_tags: list[str] = field(default_factory=list)
    manifest_digest: str | None = None

    @cached_property
    def config(self) -> dict[str, Any]:
        return json.loads(self.config_bytes)

    @property
    def config_digest(self) -> str:
        """The image ID as Docker shows it."""
        return config_digest(self.config_bytes)


@dataclass(frozen=True)
class OutputImage:
    """An image to write: its config and its layers as uncompressed tars, bottom first."""

    config_bytes: bytes
    layers: list[Blob]  # uncompressed tars whose sha256 are the config's diff_ids
    tags: list[str] = field(default_factory=list)  # "name:tag" for the daemon / archive

    @property
    def config_digest(self) -> str:
        """The image ID it will have."""
        return config_digest(self.config_bytes)


def config_digest(config_bytes: bytes) -> str:
    return "sha256:" + hashlib.sha256(config_bytes).hexdigest()
