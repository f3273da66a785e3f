"""The Docker daemon, through the Docker SDK only (never the docker CLI).

Reading saves the image (`GET /images/NAME/get`) into a file in the work directory and reads
that as a docker-archive; writing loads a docker-archive file (`POST /images/load`), streamed
from disk. Failures come back as one-line SlimErrors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from slimmer.errors import SlimError
from slimmer.image.reference import normalize_tag
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


def connect():
    """A DockerClient for the daemon of the environment (DOCKER_HOST etc.), checked with a ping."""
    import docker
    import requests

    try:
        client = docker.from_env()
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
        raise _connection_error(e) from None


def _get_image(client, name: str):
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


def image_id(name: str, client=None) -> str | None:
    """The image ID a daemon name points at, or None when there is no such image."""
    client = client or connect()
    try:
        return _get_image(client, name).id
    except SlimError as e:
        if str(e).startswith("image not found"):
            return None
        raise


def save(name: str, dest: Path, progress: Progress = QUIET, client=None) -> list[str]:
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


def load(archive: Path, progress: Progress = QUIET, client=None) -> list[str]:
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
