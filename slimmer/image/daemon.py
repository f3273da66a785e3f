"""The Docker daemon (`docker-daemon:NAME[:TAG]`), through the Docker SDK only (never the docker CLI).

Reading saves the image (`GET /images/NAME/get`) into a file in the work directory and reads
that as a docker-archive; writing writes a docker-archive file there and loads it
(`POST /images/load`), streamed from disk, then checks the tag points at the image written.
Failures come back as one-line SlimErrors.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slimmer.errors import SlimError, UsageError
from slimmer.image.dockerarchive import archive_files, read_docker_archive
from slimmer.image.model import CheckedImage, Image
from slimmer.image.reference import ImageRef, explicit_tag, normalize_tag, parse_tag
from slimmer.image.store import write_tar
from slimmer.progress import QUIET, Progress

CHUNK = 2 << 20


def one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    explanation = getattr(e, "explanation", None)
    if explanation:
        text = explanation if isinstance(explanation, str) else text
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _connection_error(e: BaseException) -> SlimError:
    return SlimError(f"cannot reach the Docker daemon: {one_line(e)}")


def connect() -> Any:
    """A DockerClient for the daemon of the environment (DOCKER_HOST etc.), checked with a ping."""
    import docker
    import requests

    try:
        client = docker.from_env()
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
        raise _connection_error(e) from None


def _get_image(client: Any, name: str) -> Any:
    import docker
    import requests

    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        raise SlimError(f"image not found in the Docker daemon: {name}") from None
    except docker.errors.APIError as e:
        if e.status_code == 404:
            raise SlimError(f"image not found in the Docker daemon: {name}") from None
        raise SlimError(f"the Docker daemon refused to look up {name}: {one_line(e)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise _connection_error(e) from None


def image_id(name: str, client: Any = None) -> str | None:
    """The image ID a daemon name points at, or None when there is no such image."""
    client = client or connect()
    try:
        found: str = _get_image(client, name).id
        return found
    except SlimError as e:
        if str(e).startswith("image not found"):
            return None
        raise


def save(name: str, dest: Path, progress: Progress = QUIET, client: Any = None) -> list[str]:
    """Stream `docker save NAME` into `dest`; return the image's tags."""
    import docker
    import requests

    client = client or connect()
    image = _get_image(client, name)
    tags = list(image.tags)
    want = normalize_tag(name)
    named: str | bool = False
    for tag in tags:
        if normalize_tag(tag) == want:
            named = tag
            break
    else:
        named = bool(tags)
    total = image.attrs.get("Size") or None
    try:
        with open(dest, "wb") as out, progress.bytes(f"saving {name}", total) as bar:
            for chunk in image.save(chunk_size=CHUNK, named=named):
                out.write(chunk)
                bar.update(len(chunk))
    except docker.errors.APIError as e:
        raise SlimError(f"the Docker daemon could not save {name}: {one_line(e)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise _connection_error(e) from None
    except OSError as e:
        raise SlimError(f"cannot write {dest}: {e.strerror or e}") from None
    return tags


def load(archive: Path, progress: Progress = QUIET, client: Any = None) -> list[str]:
    """`docker load` the archive file, streamed; return what the daemon reports having loaded."""
    import docker
    import requests

    client = client or connect()
    size = os.path.getsize(archive)

    def body() -> Iterator[bytes]:
        with open(archive, "rb") as f, progress.bytes("loading into Docker", size) as bar:
            while data := f.read(CHUNK):
                bar.update(len(data))
                yield data

    loaded: list[str] = []
    try:
        for message in client.api.load_image(body()):
            if "errorDetail" in message or "error" in message:
                detail = message.get("errorDetail", {}).get("message") or message.get("error")
                raise SlimError(f"the Docker daemon could not load the image: {one_line(Exception(detail))}")
            m = re.search(r"^Loaded image(?: ID)?: (.+)$", message.get("stream", "").strip())
            if m:
                loaded.append(m.group(1))
    except docker.errors.APIError as e:
        raise SlimError(f"the Docker daemon could not load the image: {one_line(e)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise _connection_error(e) from None
    return loaded


def read_daemon(ref: ImageRef, scratch: Path, progress: Progress = QUIET) -> Image:
    """Open a daemon image: saved into `scratch` (which must outlive the Image), read as a docker-archive."""
    archive = scratch / "daemon-save.tar"
    tags = save(ref.path, archive, progress)
    image = read_docker_archive(archive, ref, scratch, progress)
    if not image.repo_tags:
        image.repo_tags = tags
    return image


def write_daemon(image: CheckedImage, tag: str, workdir: Path, progress: Progress = QUIET) -> str:
    """Load `image` into the daemon tagged `tag` (NAME:TAG); return the tag, made explicit."""
    if explicit_tag(tag) is None:
        raise UsageError(f"cannot write to docker-daemon:{tag}: give a NAME:TAG to tag the image with")
    tag = parse_tag(tag)
    client = connect()
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix="load-", suffix=".tar", dir=workdir)
    except OSError as e:
        raise SlimError(f"cannot use work directory {workdir}: {e.strerror or e}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f, progress.bytes("preparing the image", image.size) as bar:
            write_tar(f, archive_files(image, [tag]), bar)
        load(tmp, progress, client)
    finally:
        tmp.unlink(missing_ok=True)
    loaded = image_id(tag, client)
    if loaded != image.config_digest:
        raise SlimError(f"the Docker daemon did not tag {tag} with the loaded image "
                        f"(it points at {loaded or 'nothing'}, expected {image.config_digest})")
    return tag
