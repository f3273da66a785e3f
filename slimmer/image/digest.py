"""Content digests and the OCI descriptors that carry them (go-containerregistry's Hash and Descriptor).

A `Digest` is a `str` ("sha256:HEX"), so it prints, compares and serialises as the text the
formats write, but one checked when it was made: code that holds a Digest never parses or
builds the text again. A `Descriptor` is the {mediaType, digest, size, ...} object manifests
and indexes are made of, parsed once with one-line errors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from slimmer.errors import CorruptImageError

if TYPE_CHECKING:
    from hashlib import _Hash

ALGORITHMS = ("sha256", "sha384", "sha512")
_HEX_DIGITS = frozenset("0123456789abcdef")


class Digest(str):
    """`algorithm:hex`; CorruptImageError at construction when malformed or of an unknown algorithm."""

    __slots__ = ()

    def __new__(cls, text: object) -> Digest:
        algorithm, sep, hexpart = text.partition(":") if isinstance(text, str) else ("", "", "")
        if not sep or algorithm not in ALGORITHMS or \
                len(hexpart) != hashlib.new(algorithm).digest_size * 2 or not _HEX_DIGITS.issuperset(hexpart):
            raise CorruptImageError(f"invalid or unsupported digest {text!r}")
        return super().__new__(cls, text)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of some bytes."""
        return cls.of_hash(hashlib.new(algorithm, data))

    @classmethod
    def of_hash(cls, hasher: _Hash) -> Digest:
        """The digest a hashlib object has computed so far."""
        return cls(f"{hasher.name}:{hasher.hexdigest()}")

    @classmethod
    def from_blob_path(cls, name: str) -> Digest | None:
        """The digest an OCI blob path (`blobs/ALG/HEX`) names, or None for any other path."""
        parts = name.split("/")
        if len(parts) != 3 or parts[0] != "blobs":
            return None
        try:
            return cls(f"{parts[1]}:{parts[2]}")
        except CorruptImageError:
            return None

    @property
    def algorithm(self) -> str:
        return self.partition(":")[0]

    @property
    def hex(self) -> str:
        return self.partition(":")[2]

    @property
    def short(self) -> str:
        """`sha256:` and 12 hex digits, as messages and `docker images` show it."""
        return f"{self.algorithm}:{self.hex[:12]}"

    @property
    def blob_path(self) -> str:
        """Where an OCI layout (and a Docker 25+ archive) stores the blob."""
        return f"blobs/{self.algorithm}/{self.hex}"

    def hasher(self) -> _Hash:
        """A fresh hashlib object of this digest's algorithm, to check content against it."""
        return hashlib.new(self.algorithm)


class Platform(NamedTuple):
    """os/architecture/variant of a manifest in an image index, in OCI (Go) terms."""

    os: str | None
    architecture: str | None
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(part for part in self if part)


@dataclass(frozen=True)
class Descriptor:
    """A reference to a blob: what it is, its digest and its size (OCI image-spec, descriptor.md)."""

    media_type: str | None
    digest: Digest
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: Platform | None = None

    @classmethod
    def parse(cls, obj: Any, what: str) -> Descriptor:
        """Check a descriptor of a manifest or index; `what` starts the one-line error."""
        if not isinstance(obj, dict):
            raise CorruptImageError(f"{what}: descriptor is not a JSON object")
        size = obj.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CorruptImageError(f"{what}: descriptor has no valid size")
        if not isinstance(obj.get("digest"), str):
            raise CorruptImageError(f"{what}: missing digest")
        try:
            digest = Digest(obj["digest"])
        except CorruptImageError as e:
            raise CorruptImageError(f"{what}: {e}") from None
        media_type = obj.get("mediaType")
        annotations = obj.get("annotations")
        return cls(media_type=media_type if isinstance(media_type, str) else None, digest=digest, size=size,
                   annotations={k: v for k, v in annotations.items() if isinstance(v, str)}
                   if isinstance(annotations, dict) else {},
                   platform=_platform(obj.get("platform")))

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.media_type is not None:
            obj["mediaType"] = self.media_type
        if self.annotations:
            obj["annotations"] = dict(self.annotations)
        if self.platform is not None:
            obj["platform"] = {key: value for key, value in self.platform._asdict().items() if value is not None}
        return obj


def _platform(obj: Any) -> Platform | None:
    if not isinstance(obj, dict):
        return None

    def text(key: str) -> str | None:
        value = obj.get(key)
        return value if isinstance(value, str) else None

    return Platform(text("os"), text("architecture"), text("variant"))
