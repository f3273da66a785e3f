"""Image references, spelled the way skopeo spells them: TRANSPORT:DETAILS.

    NAME[:TAG] | NAME@DIGEST | IMAGE-ID      an image in the Docker daemon (tag defaults to latest)
    docker-daemon:NAME[:TAG]                 the same, explicitly
    docker-archive:PATH[:REF]                a `docker save` tar; REF = a RepoTag or @N (0-based)
    PATH.tar (an existing file)              the same as docker-archive:PATH.tar
    oci:DIR[:REF]                            an OCI image layout; REF = a ref.name annotation or @N
    oci-archive:PATH[:REF]                   a tar of an OCI image layout
    DIR (an existing OCI layout)             the same as oci:DIR

As in skopeo, PATH ends at the first ':' after the transport; a path that itself contains a
':' is recognised when the whole text names an existing file or directory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum

from slimmer.errors import SlimError, UsageError


class Transport(StrEnum):
    DAEMON = "docker-daemon"
    DOCKER_ARCHIVE = "docker-archive"
    OCI = "oci"
    OCI_ARCHIVE = "oci-archive"


# skopeo transports we do not implement. They are only taken as a transport when what follows
# could not be a tag (so `dir:1.0` still names the daemon image dir:1.0).
_UNSUPPORTED = ("dir", "containers-storage", "ostree", "sif", "tarball", "docker")

# The grammar of github.com/distribution/reference, enough to validate and split names.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME_RE = re.compile(rf"^(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_IMAGE_ID_RE = re.compile(r"^(?:sha256:[0-9a-f]{64}|[0-9a-f]{12,64})$")
_INDEX_REF_RE = re.compile(r"^@[0-9]+$")


@dataclass(frozen=True)
class ImageRef:
    transport: Transport
    path: str  # NAME[:TAG] for the daemon (tag defaults to latest), a filesystem path otherwise
    ref: str | None = None  # image selector inside an archive/layout (":REF"), None if not given

    def __str__(self) -> str:
        text = f"{self.transport}:{self.path}"
        return f"{text}:{self.ref}" if self.ref is not None else text

    @property
    def index(self) -> int | None:
        """N when the selector is `@N`, else None."""
        if self.ref is not None and _INDEX_REF_RE.match(self.ref):
            return int(self.ref[1:])
        return None

    def nth(self, count: int, where: str) -> int | None:
        """The position `@N` selects among `count` images (None without `@N`); SlimError past the end."""
        n = self.index
        if n is not None and n >= count:
            raise SlimError(f"{where} holds {count} image{'s' if count != 1 else ''}; there is no {self.ref} "
                            "(they are numbered from @0)")
        return n


def is_image_id(text: str) -> bool:
    """Whether `text` is an image ID (sha256:HEX, or 12 to 64 hex digits) rather than a name."""
    return bool(_IMAGE_ID_RE.match(text))


def normalize_tag(name: str) -> str:
    """`name` as Docker lists it in RepoTags: explicit tag, no docker.io/library/ prefix."""
    m = _NAME_RE.match(name)
    if not m:
        return name
    repo, tag, digest = m.group("name"), m.group("tag"), m.group("digest")
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
            break
    if digest:
        return f"{repo}:{tag}@{digest}" if tag else f"{repo}@{digest}"
    return f"{repo}:{tag or 'latest'}"


def parse_daemon_name(text: str) -> str:
    """Validate a daemon image name; return it with the tag made explicit (`:latest`)."""
    if _IMAGE_ID_RE.match(text):
        return text  # an image ID (full or abbreviated), looked up as such
    m = _NAME_RE.match(text)
    if not m:
        raise UsageError(f"invalid image reference {text!r}: expected NAME[:TAG] "
                         "(lower-case name, e.g. debian:bookworm or localhost:5000/app:1.0)")
    if m.group("tag") or m.group("digest"):
        return text
    return f"{text}:latest"


def is_valid_tag(text: str) -> bool:
    """Whether `text` is a NAME[:TAG] one can tag an image with."""
    m = _NAME_RE.match(text)
    return m is not None and not m.group("digest") and not _IMAGE_ID_RE.match(text)


def explicit_tag(name: str) -> tuple[str, str] | None:
    """("registry:5000/app", "1.0") from "registry:5000/app:1.0"; None for a name without a tag,
    with a digest, or an image ID: none of these can name a new image."""
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon < slash or colon < 0 or "@" in name or is_image_id(name):
        return None
    return name[:colon], name[colon + 1:]


def parse_tag(text: str) -> str:
    """A tag to give an image (no digest, no bare ID): validated, `:latest` made explicit."""
    m = _NAME_RE.match(text)
    if not m or m.group("digest"):
        raise UsageError(f"invalid tag {text!r}: expected NAME[:TAG], e.g. app:slim")
    return text if m.group("tag") else f"{text}:latest"


def _split_path_ref(transport: Transport, rest: str, original: str) -> ImageRef:
    if not rest:
        raise UsageError(f"invalid image reference {original!r}: {transport}: needs a path")
    path, ref = rest, None
    if ":" in rest and not os.path.exists(rest):
        path, ref = rest.split(":", 1)
        if not path:
            raise UsageError(f"invalid image reference {original!r}: {transport}: needs a path")
        if ref == "":
            raise UsageError(f"invalid image reference {original!r}: empty image selector after ':'")
    return ImageRef(transport, path, ref)


def parse_reference(text: str) -> ImageRef:
    """Parse what the user typed into an ImageRef; UsageError with one line when malformed."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("empty image reference")
    if text != text.strip() or any(c in text for c in "\n\r\t"):
        raise UsageError(f"invalid image reference {text!r}: contains whitespace")
    if text.startswith("docker://"):
        raise UsageError(f"registry references (docker://) are not supported yet: {text!r}; "
                         "pull the image first and use docker-daemon:NAME[:TAG]")
    if ":" in text:
        scheme, rest = text.split(":", 1)
        if scheme == Transport.DAEMON:
            if not rest:
                raise UsageError(f"invalid image reference {text!r}: docker-daemon: needs NAME[:TAG]")
            return ImageRef(Transport.DAEMON, parse_daemon_name(rest), None)
        if scheme in (Transport.DOCKER_ARCHIVE, Transport.OCI, Transport.OCI_ARCHIVE):
            return _split_path_ref(Transport(scheme), rest, text)
        if scheme in _UNSUPPORTED and not _TAG_RE.match(rest):
            raise UsageError(f"transport {scheme!r} is not supported yet (in {text!r}); "
                             f"use one of: {', '.join(Transport)}")
    # No transport: an existing archive or layout, else a daemon image name.
    if os.path.isfile(text) and (text.endswith(".tar") or not _NAME_RE.match(text)):
        return ImageRef(Transport.DOCKER_ARCHIVE, text, None)
    if os.path.isdir(text) and os.path.isfile(os.path.join(text, "oci-layout")):
        return ImageRef(Transport.OCI, text, None)
    if text.endswith(".tar") or text.startswith(("/", "./", "../", "~")):
        raise UsageError(f"no such file: {text!r} (to name a daemon image, write docker-daemon:{text})"
                         if text.endswith(".tar") and _NAME_RE.match(text)
                         else f"no such file: {text!r}")
    return ImageRef(Transport.DAEMON, parse_daemon_name(text), None)


def as_ref(ref: ImageRef | str) -> ImageRef:
    return ref if isinstance(ref, ImageRef) else parse_reference(ref)


def same_target(a: ImageRef, b: ImageRef) -> bool:
    """Whether two references name the same daemon tag or the same file/directory."""
    if Transport.DAEMON in (a.transport, b.transport):
        return a.transport == b.transport and normalize_tag(a.path) == normalize_tag(b.path)
    try:
        return os.path.realpath(a.path) == os.path.realpath(b.path)
    except OSError:
        return False
