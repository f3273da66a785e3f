"""Sources and sinks against a real Docker daemon (and skopeo for the OCI layouts).

A small multi-layer image is built here: a static C program (gcc -static) and two data files
copied onto slimmer-sample/base:bookworm when the daemon has it, else onto scratch. It is read
from the daemon, from `docker save` output and from an OCI layout made by skopeo, written to
every sink, loaded back into the daemon and run: it must print the same thing each time.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from slimmer.errors import SlimError
from slimmer.image.blob import Blob
from slimmer.image.layers import uncompressed_layers
from slimmer.image.model import OutputImage
from slimmer.image.transports import open_image, write_image

import requires
from imagefactory import compile_static

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

PREFIX = "slimmer-iotest"
SOURCE_TAG = f"{PREFIX}/roundtrip:source"
BASE = "slimmer-sample/base:bookworm"


def _exists(client, name: str) -> bool:
    import docker

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def _run(client, tag: str) -> bytes:
    return client.containers.run(tag, remove=True, network_mode="none")


def _sha256_file(blob: Blob) -> str:
    h = hashlib.sha256()
    with blob.open() as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


@pytest.fixture(scope="module")
def built(docker_client, tmp_path_factory):
    """The test image in the daemon: {"tag", "id", "output", "layers"}; removed afterwards."""
    d = tmp_path_factory.mktemp("build")
    try:
        compile_static(d / "hello")
    except RuntimeError as e:
        requires.unavailable(str(e))
    (d / "a.txt").write_text("alpha\n")
    (d / "b.txt").write_text("beta\n")
    base = BASE if _exists(docker_client, BASE) else "scratch"
    (d / "Dockerfile").write_text(
        f"FROM {base}\n"
        "COPY hello /usr/local/bin/slim-hello\n"
        "COPY a.txt /data/a.txt\n"
        "COPY b.txt /data/b.txt\n"
        'ENTRYPOINT ["/usr/local/bin/slim-hello", "/data/a.txt", "/data/b.txt"]\n'
        "CMD []\n")
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tf:
        for name in ("Dockerfile", "hello", "a.txt", "b.txt"):
            tf.add(d / name, arcname=name)
    context.seek(0)
    image, _logs = docker_client.images.build(fileobj=context, custom_context=True, tag=SOURCE_TAG,
                                              rm=True, forcerm=True)
    output = _run(docker_client, SOURCE_TAG)
    assert output.startswith(b"hello from slimmer\n")
    assert b"/data/a.txt: alpha\n/data/b.txt: beta\n" in output
    created: list[str] = [SOURCE_TAG]
    yield {"tag": SOURCE_TAG, "id": image.id, "output": output, "created": created,
           "layers": len(image.attrs["RootFS"]["Layers"])}
    for tag in created:
        try:
            docker_client.images.remove(tag, force=True, noprune=False)
        except Exception:
            pass


def _essential(config: dict) -> dict:
    """What of a config survives skopeo's conversion to an OCI config."""
    inner = config.get("config") or {}
    return {"architecture": config.get("architecture"), "os": config.get("os"),
            "rootfs": config.get("rootfs"),
            "config": {k: inner.get(k) or None for k in ("Entrypoint", "Cmd", "Env", "WorkingDir", "User",
                                                         "Labels", "ExposedPorts", "Volumes")}}


def _fingerprint(image, spool: Path) -> dict:
    blobs = uncompressed_layers(image, spool)
    return {"config": _essential(image.config), "diff_ids": [l.diff_id for l in image.layers],
            "layer_hashes": [_sha256_file(b) for b in blobs]}


def test_daemon_archive_and_oci_agree(built, docker_client, tmp_path):
    skopeo = requires.program("skopeo")
    with open_image(f"docker-daemon:{built['tag']}", tmp_path / "work") as img:
        assert img.config_digest == built["id"]
        assert img.repo_tags == [built["tag"]]
        assert len(img.layers) == built["layers"] >= 3
        from_daemon = _fingerprint(img, tmp_path / "spool1")
    assert from_daemon["layer_hashes"] == from_daemon["diff_ids"]
    assert not any((tmp_path / "work").iterdir())  # the saved archive is gone

    archive = tmp_path / "saved.tar"
    with open(archive, "wb") as f:
        for chunk in docker_client.images.get(built["tag"]).save(named=built["tag"]):
            f.write(chunk)
    with open_image(f"docker-archive:{archive}", tmp_path / "work") as img:
        assert img.config_digest == built["id"]
        assert _fingerprint(img, tmp_path / "spool2") == from_daemon

    layout = tmp_path / "oci"
    subprocess.run([skopeo, "copy", "--quiet", f"docker-archive:{archive}", f"oci:{layout}:rt"],
                   check=True, capture_output=True)
    with open_image(f"oci:{layout}:rt", tmp_path / "work") as img:
        assert _fingerprint(img, tmp_path / "spool3") == from_daemon
    # skopeo compressed the layers: the same again through gzip.
    subprocess.run([skopeo, "copy", "--quiet", "--dest-compress", f"docker-archive:{archive}",
                    f"oci-archive:{tmp_path / 'oci.tar'}:rt"], check=True, capture_output=True)
    with open_image(f"oci-archive:{tmp_path / 'oci.tar'}", tmp_path / "work") as img:
        assert _fingerprint(img, tmp_path / "spool4") == from_daemon


SINKS = ["docker-archive", "oci", "oci-archive", "docker-daemon"]


@pytest.mark.parametrize("sink", SINKS)
def test_write_load_and_run(sink, built, docker_client, tmp_path):
    tag = f"{PREFIX}/roundtrip:{sink}"
    built["created"].append(tag)
    try:
        docker_client.images.remove(tag, force=True)
    except Exception:
        pass
    with open_image(f"docker-daemon:{built['tag']}", tmp_path / "work") as img:
        blobs = uncompressed_layers(img, tmp_path / "spool")
        out = OutputImage(img.config_bytes, blobs, [tag])
        if sink == "docker-archive":
            path = tmp_path / "out.tar"
            write_image(out, f"docker-archive:{path}", tmp_path / "work")
            with open(path, "rb") as f:
                docker_client.images.load(f)
        elif sink in ("oci", "oci-archive"):
            path = tmp_path / ("out" if sink == "oci" else "out.tar")
            summary = write_image(out, f"{sink}:{path}", tmp_path / "work")
            assert summary.startswith(f"{path}:{tag} ({sink}, ")
            subprocess.run([requires.program("skopeo"), "copy", "--quiet", f"{sink}:{path}:{tag}", f"docker-daemon:{tag}"],
                           check=True, capture_output=True)
        else:
            summary = write_image(out, f"docker-daemon:{tag}", tmp_path / "work",
                                  protect={f"docker-daemon:{built['tag']}"})
            assert summary.startswith(f"{tag} (docker-daemon, image {built['id'][:19]}, ")
    assert docker_client.images.get(tag).id == built["id"]  # the same config: the same image ID
    assert _run(docker_client, tag) == built["output"]
    assert not any((tmp_path / "work").iterdir())


def test_missing_image(docker_client, tmp_path):
    with pytest.raises(SlimError) as e:
        with open_image(f"docker-daemon:{PREFIX}/nope:missing", tmp_path / "work"):
            pass
    assert str(e.value) == f"image not found in the Docker daemon: {PREFIX}/nope:missing"
    with pytest.raises(SlimError, match=f"image not found in the Docker daemon: {PREFIX}/nope:latest"):
        with open_image(f"{PREFIX}/nope", tmp_path / "work"):
            pass


def test_failed_load_leaves_no_tag(built, docker_client, tmp_path):
    tag = f"{PREFIX}/roundtrip:failed"
    built["created"].append(tag)
    with open_image(f"docker-daemon:{built['tag']}", tmp_path / "work") as img:
        blobs = uncompressed_layers(img, tmp_path / "spool")
        damaged = tmp_path / "damaged.tar"
        damaged.write_bytes(blobs[-1].open().read()[:-2000])  # a layer cut short
        bad = OutputImage(img.config_bytes, blobs[:-1] + [Blob(damaged, 0, blobs[-1].size)], [tag])
        with pytest.raises(SlimError, match=rf"^layer {len(blobs)} \("):
            write_image(bad, f"docker-daemon:{tag}", tmp_path / "work")
        assert not _exists(docker_client, tag)
        assert not list((tmp_path / "work").glob("load-*"))

        # The daemon refuses a layer that is not a tar (its diff_id matches, so only Docker can
        # tell): the load fails and a tag that existed keeps pointing at the old image.
        write_image(OutputImage(img.config_bytes, blobs, [tag]), f"docker-daemon:{tag}", tmp_path / "work")
        assert docker_client.images.get(tag).id == built["id"]
        junk = tmp_path / "junk.bin"
        junk.write_bytes(b"\x01 this is not a tar archive " * 100)
        config = json.loads(img.config_bytes)
        config["rootfs"]["diff_ids"][-1] = _sha256_file(Blob(junk, 0, junk.stat().st_size))
        refused = OutputImage(json.dumps(config).encode(), blobs[:-1] + [Blob(junk, 0, junk.stat().st_size)], [tag])
        with pytest.raises(SlimError) as e:
            write_image(refused, f"docker-daemon:{tag}", tmp_path / "work")
        assert str(e.value).startswith("the Docker daemon could not load the image: ")
        assert "\n" not in str(e.value)
        assert docker_client.images.get(tag).id == built["id"]
        assert not list((tmp_path / "work").glob("load-*"))


def test_protect_the_source_tag(built, docker_client, tmp_path):
    with open_image(f"docker-daemon:{built['tag']}", tmp_path / "work") as img:
        out = OutputImage(img.config_bytes, uncompressed_layers(img, tmp_path / "spool"), [])
        with pytest.raises(SlimError, match=r"refusing to overwrite .* \(it is the source image\)"):
            write_image(out, f"docker-daemon:{built['tag']}", tmp_path / "work", protect={img.reference})
    assert docker_client.images.get(built["tag"]).id == built["id"]
