"""Images by reference, in any transport: which format module reads and which writes each one.

    with open_image("docker-archive:app.tar", workdir) as image:
        blobs = uncompressed_layers(image, workdir / "spool")
    write_image(OutputImage(config_bytes, blobs), "oci:out", workdir)

The image's layer blobs are valid inside the `with` block only: a daemon image is saved into a
temporary file under `workdir` that is removed on exit (as is a decompressed copy of a
compressed archive). Output is deterministic (sorted members, mtime 0, uid/gid 0, fixed modes,
compact JSON with sorted keys), files and layouts appear whole or not at all (atomic.py), a daemon
tag is only set by a load that succeeded, and every layer's digest is checked as it is copied.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from slimmer.errors import SlimError, UsageError
from slimmer.image.daemon import read_daemon, write_daemon
from slimmer.image.dockerarchive import read_docker_archive, write_docker_archive
from slimmer.image.model import Image, OutputImage
from slimmer.image.ocilayout import read_oci_archive, read_oci_dir, write_oci_archive, write_oci_dir
from slimmer.image.reference import ImageRef, Transport, as_ref, parse_reference, parse_tag, same_target
from slimmer.progress import QUIET, Progress


@contextmanager
def open_image(ref: ImageRef | str, workdir: Path, progress: Progress = QUIET) -> Iterator[Image]:
    ref = as_ref(ref)
    workdir = Path(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="source-", dir=workdir))
    except OSError as e:
        raise SlimError(f"cannot use work directory {workdir}: {e.strerror or e}") from None
    try:
        yield _read(ref, scratch, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read(ref: ImageRef, scratch: Path, progress: Progress) -> Image:
    if ref.transport is Transport.DAEMON:
        return read_daemon(ref, scratch, progress)
    if ref.transport is Transport.DOCKER_ARCHIVE:
        return read_docker_archive(Path(ref.path), ref, scratch, progress)
    if ref.transport is Transport.OCI:
        return read_oci_dir(Path(ref.path), ref)
    return read_oci_archive(Path(ref.path), ref, scratch, progress)


def parse_destination(text: str) -> ImageRef:
    """Like parse_reference, but a destination need not exist: PATH.tar is a docker-archive."""
    try:
        return parse_reference(text)
    except UsageError:
        if text.endswith(".tar") and ":" not in text:
            return ImageRef(Transport.DOCKER_ARCHIVE, text, None)
        raise


def _check_protect(dest: ImageRef, protect: Iterable[str]) -> None:
    for text in protect:
        try:
            protected = as_ref(text)
        except UsageError:
            continue
        if same_target(protected, dest):
            raise SlimError(f"refusing to overwrite {text} (it is the source image); choose another destination")


def _tags(image: OutputImage, explicit: str | None) -> list[str]:
    return list(dict.fromkeys(parse_tag(t) for t in ([explicit] if explicit else image.tags)))


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def write_image(image: OutputImage, dest: ImageRef | str, workdir: Path, progress: Progress = QUIET,
                protect: Iterable[str] = ()) -> str:
    """Write `image` to `dest`, never over one of `protect`; return a short description of what was written."""
    if isinstance(dest, str):
        dest = parse_destination(dest)
    _check_protect(dest, protect)
    checked = image.checked()
    n = len(checked.layers)
    summary = f"image {checked.config_digest.short}, {n} layer{'s' if n != 1 else ''}, {_human(checked.size)}"
    path = Path(dest.path)

    if dest.transport is Transport.DOCKER_ARCHIVE:
        tags = _tags(image, dest.ref)
        write_docker_archive(checked, path, tags, progress)
        return f"{path} (docker-archive, {', '.join(tags) or 'untagged'}, {summary})"
    if dest.transport is Transport.DAEMON:
        tag = write_daemon(checked, dest.path, Path(workdir), progress)
        return f"{tag} (docker-daemon, {summary})"

    ref_name = dest.ref if dest.ref is not None or not image.tags else parse_tag(image.tags[0])
    label = f"{path}" + (f":{ref_name}" if ref_name else "")
    if dest.transport is Transport.OCI:
        write_oci_dir(checked, path, ref_name, progress)
        return f"{label} (oci, {summary})"
    write_oci_archive(checked, path, ref_name, progress)
    return f"{label} (oci-archive, {summary})"
