"""Media types of the documents and blobs slimmer reads and writes, in one place.

Docker's (schema 2) and OCI's name the same things; readers accept both, writers write OCI's,
except that a docker-archive layer is named after what its bytes are (see `layer_media_type`).
"""

from __future__ import annotations

from slimmer.image.compression import Compression

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_ZSTD = OCI_LAYER + "+zstd"

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
CONFIG_TYPES = (OCI_CONFIG, DOCKER_CONFIG)

_LAYER_BY_COMPRESSION = {
    Compression.TAR: DOCKER_LAYER,
    Compression.GZIP: DOCKER_LAYER_GZIP,
    Compression.ZSTD: OCI_LAYER_ZSTD,
}


def layer_media_type(compression: Compression | None, fallback: str) -> str:
    """The media type of a layer that no manifest describes (legacy docker-archive), from its bytes."""
    return _LAYER_BY_COMPRESSION.get(compression, fallback) if compression is not None else fallback
