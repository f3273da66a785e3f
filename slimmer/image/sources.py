"""Open an image from any supported transport.

    with open_image("docker-archive:app.tar", workdir) as image:
        blobs = uncompressed_layers(image, workdir / "spool")

The image's layer blobs are valid inside the `with` block only: a daemon image is saved into
a temporary file under `workdir` that is removed on exit (as is a decompressed copy of a
compressed archive).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slimmer.errors import SlimError
from slimmer.image import daemon
from slimmer.image.dockerarchive import read_docker_archive
from slimmer.image.model import Image
from slimmer.image.ocilayout import read_oci_archive, read_oci_dir
from slimmer.image.reference import DAEMON, DOCKER_ARCHIVE, OCI, OCI_ARCHIVE, ImageRef, as_ref
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
        yield _open(ref, scratch, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _open(ref: ImageRef, scratch: Path, progress: Progress) -> Image:
    text = str(ref)
    if ref.transport == DAEMON:
        archive = scratch / "daemon-save.tar"
        tags = daemon.save(ref.path, archive, progress)
        image = read_docker_archive(archive, None, text, scratch, progress)
        if not image.repo_tags:
            image.repo_tags = tags
        return image
    if ref.transport == DOCKER_ARCHIVE:
        return read_docker_archive(Path(ref.path), ref.ref, text, scratch, progress)
    if ref.transport == OCI:
        return read_oci_dir(Path(ref.path), ref.ref, text)
    if ref.transport == OCI_ARCHIVE:
        return read_oci_archive(Path(ref.path), ref.ref, text, scratch, progress)
    raise SlimError(f"unsupported transport {ref.transport!r}")
