"""Reading and writing images in every format, on synthetic images (no Docker daemon needed)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from slimmer.errors import CorruptImageError, SlimError, UsageError
from slimmer.image.blob import Blob
from slimmer.image.digest import Descriptor, Digest
from slimmer.image.layers import uncompressed_layer, uncompressed_layers
from slimmer.image.model import Layer, OutputImage
from slimmer.image.ocilayout import host_platform
from slimmer.image.reference import ImageRef, Transport, parse_reference
from slimmer.image.store import TarStore, read_json
from slimmer.image.transports import open_image, write_image

import requires
from imagefactory import (
    File,
    Hardlink,
    Opaque,
    Symlink,
    SyntheticImage,
    Whiteout,
    compress,
    digest,
    make_layer,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)

BASE = make_layer([
    "etc/",
    ("etc/a", b"data a\n"),
    ("etc/b", File(b"b" * 5000, mode=0o600)),
    "bin/",
    ("bin/app", File(b"\x7fELF fake", mode=0o755)),
    "lib/",
    ("lib/x", Symlink("../etc/a")),
    ("lib/h", Hardlink("etc/a")),
])
TOP = make_layer([("etc/b", Whiteout()), ("var/cache", Opaque()), ("var/cache/new", b"n")], parents=True)
EMPTY = make_layer([])


def image(**kw) -> SyntheticImage:
    kw.setdefault("config_extra", {"Entrypoint": ["/bin/app"], "Labels": {"k": "v"}})
    return SyntheticImage([BASE, TOP, EMPTY], **kw)


def layer_bytes(img, tmp_path) -> list[bytes]:
    blobs = uncompressed_layers(img, tmp_path / "spool")
    return [b.open().read() for b in blobs]


def assert_one_line(exc: BaseException) -> None:
    assert "\n" not in str(exc) and str(exc)


def litter(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "slim-tmp" in p.name or p.name.endswith(".tmp"))


# --- references --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("debian", ImageRef("docker-daemon", "debian:latest", None)),
    ("debian:bookworm", ImageRef("docker-daemon", "debian:bookworm", None)),
    ("docker-daemon:debian", ImageRef("docker-daemon", "debian:latest", None)),
    ("docker-daemon:library/debian:12", ImageRef("docker-daemon", "library/debian:12", None)),
    ("localhost:5000/a:b", ImageRef("docker-daemon", "localhost:5000/a:b", None)),
    ("localhost:5000/team/app", ImageRef("docker-daemon", "localhost:5000/team/app:latest", None)),
    ("docker-daemon:localhost:5000/a:b", ImageRef("docker-daemon", "localhost:5000/a:b", None)),
    ("ghcr.io/o/app@sha256:" + "a" * 64, ImageRef("docker-daemon", "ghcr.io/o/app@sha256:" + "a" * 64, None)),
    ("sha256:" + "b" * 64, ImageRef("docker-daemon", "sha256:" + "b" * 64, None)),
    ("0123456789ab", ImageRef("docker-daemon", "0123456789ab", None)),
    ("dir:1.0", ImageRef("docker-daemon", "dir:1.0", None)),  # an image called dir, not the transport
    ("docker-archive:x.tar", ImageRef("docker-archive", "x.tar", None)),
    ("docker-archive:/a/x.tar:app:1.0", ImageRef("docker-archive", "/a/x.tar", "app:1.0")),
    ("docker-archive:x.tar:@1", ImageRef("docker-archive", "x.tar", "@1")),
    ("oci:layout", ImageRef("oci", "layout", None)),
    ("oci:/a/layout:latest", ImageRef("oci", "/a/layout", "latest")),
    ("oci-archive:o.tar:v2", ImageRef("oci-archive", "o.tar", "v2")),
])
def test_parse_reference(text, expected):
    assert parse_reference(text) == expected
    assert parse_reference(str(expected)) == expected  # str() round-trips


@pytest.mark.parametrize("text, message", [
    ("docker://debian", "not supported yet"),
    ("", "empty image reference"),
    ("Debian:12", "invalid image reference"),
    ("debian:", "invalid image reference"),
    ("a b", "invalid image reference"),
    (" debian", "whitespace"),
    ("docker-archive:", "needs a path"),
    ("oci:dir:", "empty image selector"),
    ("dir:/some/where", "transport 'dir' is not supported yet"),
    ("containers-storage:/x", "not supported yet"),
    ("missing.tar", "no such file: 'missing.tar'"),
    ("./missing", "no such file"),
])
def test_parse_reference_errors(text, message):
    with pytest.raises(UsageError) as e:
        parse_reference(text)
    assert message in str(e.value)
    assert_one_line(e.value)


def test_bare_paths(tmp_path, monkeypatch):
    write_docker_archive(tmp_path / "img.tar", image())
    write_oci_layout(tmp_path / "lay", image())
    monkeypatch.chdir(tmp_path)
    assert parse_reference("img.tar") == ImageRef("docker-archive", "img.tar", None)
    assert parse_reference(str(tmp_path / "img.tar")).transport == "docker-archive"
    assert parse_reference(str(tmp_path / "lay")) == ImageRef("oci", str(tmp_path / "lay"), None)
    # A path containing ':' that exists is taken whole.
    odd = tmp_path / "a:b.tar"
    write_docker_archive(odd, image())
    assert parse_reference(f"docker-archive:{odd}") == ImageRef("docker-archive", str(odd), None)


# --- digests and descriptors --------------------------------------------------------------------

def test_digest_is_checked_text():
    d = Digest.of(b"abc")
    assert d == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert json.loads(json.dumps({"d": d})) == {"d": str(d)}  # serialised as the text itself
    assert (d.algorithm, d.hex[:8], d.short) == ("sha256", "ba7816bf", "sha256:ba7816bf8f01")
    assert d.blob_path == f"blobs/sha256/{d.hex}" and Digest.from_blob_path(d.blob_path) == d
    assert Digest.of(b"abc", "sha512") == "sha512:" + hashlib.sha512(b"abc").hexdigest()
    assert Digest.from_blob_path("blobs/md5/00") is None and Digest.from_blob_path("l1/layer.tar") is None
    for bad in ["", "sha256:", "sha256:" + "A" * 64, "sha256:" + "0" * 63, "md5:" + "0" * 32, "sha256" + "0" * 64,
                None, 5]:
        with pytest.raises(CorruptImageError, match="invalid or unsupported digest"):
            Digest(bad)


def test_descriptor_parse_and_back():
    obj = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": Digest.of(b"m"), "size": 1,
           "annotations": {"org.opencontainers.image.ref.name": "x", "n": 5},
           "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}, "urls": []}
    desc = Descriptor.parse(obj, "index.json: manifests[0]")
    assert desc.annotations == {"org.opencontainers.image.ref.name": "x"}  # non-text values dropped
    assert str(desc.platform) == "linux/arm64/v8"
    assert desc.to_json() == {k: v for k, v in obj.items() if k != "urls"} | {"annotations": desc.annotations}
    for bad, message in [([], "descriptor is not a JSON object"), ({"digest": obj["digest"]}, "no valid size"),
                         ({"digest": obj["digest"], "size": True}, "no valid size"), ({"size": 1}, "missing digest"),
                         ({"digest": "sha256:00", "size": 1}, "invalid or unsupported digest 'sha256:00'")]:
        with pytest.raises(CorruptImageError, match=f"^index.json: manifests\\[0\\]: .*{message}"):
            Descriptor.parse(bad, "index.json: manifests[0]")


# --- reading every layout ------------------------------------------------------------------------

LAYOUTS = {
    "docker-archive legacy": lambda p, img: f"docker-archive:{write_docker_archive(p / 'a.tar', img)}",
    "docker-archive legacy gzip layers": lambda p, img: "docker-archive:" + str(
        write_docker_archive(p / 'a.tar', img, compression="gzip")),
    "docker-archive legacy symlinked duplicates": lambda p, img: "docker-archive:" + str(
        write_docker_archive(p / 'a.tar', SyntheticImage(img.layers + img.layers, img.config_extra),
                             dedupe_with_symlinks=True)),
    "docker-archive docker25": lambda p, img: "docker-archive:" + str(
        write_docker_archive(p / 'a.tar', img, layout="oci")),
    "bare .tar path": lambda p, img: str(write_docker_archive(p / 'a.tar', img)),
    "docker-archive of gzip-compressed archive": lambda p, img: "docker-archive:" + _gz(
        write_docker_archive(p / 'a.tar', img)),
    "oci uncompressed": lambda p, img: f"oci:{write_oci_layout(p / 'oci', img, compression=None)}",
    "oci gzip": lambda p, img: f"oci:{write_oci_layout(p / 'oci', img, compression='gzip')}",
    "oci zstd": lambda p, img: f"oci:{write_oci_layout(p / 'oci', img, compression='zstd')}",
    "oci docker media types": lambda p, img: "oci:" + str(
        write_oci_layout(p / 'oci', img, compression="gzip", docker_media_types=True)),
    "oci image index": lambda p, img: f"oci:{write_oci_layout(p / 'oci', img, as_index=True)}",
    "oci-archive gzip": lambda p, img: "oci-archive:" + str(
        write_oci_archive(p / 'o.tar', img, compression="gzip")),
    "oci-archive zstd": lambda p, img: "oci-archive:" + str(
        write_oci_archive(p / 'o.tar', img, compression="zstd")),
    "oci-archive read as docker-archive": lambda p, img: "docker-archive:" + str(
        write_oci_archive(p / 'o.tar', img, compression=None)),
}


def _gz(path: Path) -> str:
    out = path.with_suffix(".tar.gz")
    out.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return str(out)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_read_back_every_layout(layout, tmp_path):
    img = image()
    ref = LAYOUTS[layout](tmp_path, img)
    with open_image(ref, tmp_path / "work") as opened:
        if "duplicates" in layout:
            assert [l.diff_id for l in opened.layers] == img.diff_ids * 2
            assert layer_bytes(opened, tmp_path) == img.layers * 2
            return
        assert opened.config_bytes == img.config_bytes
        assert opened.config_digest == img.config_digest
        assert opened.config["config"]["Entrypoint"] == ["/bin/app"]
        assert [l.diff_id for l in opened.layers] == img.diff_ids
        assert layer_bytes(opened, tmp_path) == img.layers
        assert opened.reference == str(parse_reference(ref))
        if layout.startswith(("docker-archive", "bare")) and "oci-archive" not in layout:
            assert opened.repo_tags == ["test:latest"]
    assert litter(tmp_path / "work") == []
    assert list((tmp_path / "work").glob("source-*")) == []  # scratch space removed on exit


def test_blobs_are_regions_of_the_archive(tmp_path):
    """Nothing is extracted: every layer blob points into the archive file itself."""
    path = write_docker_archive(tmp_path / "a.tar", image())
    with open_image(f"docker-archive:{path}", tmp_path / "work") as img:
        assert all(l.blob.path == path for l in img.layers)
        blobs = uncompressed_layers(img, tmp_path / "spool")
        assert all(b.path == path for b in blobs)  # uncompressed: used in place
    assert not (tmp_path / "spool").exists() or not any((tmp_path / "spool").iterdir())
    path = write_oci_archive(tmp_path / "o.tar", image(), compression="gzip")
    with open_image(f"oci-archive:{path}", tmp_path / "work") as img:
        assert all(l.blob.path == path for l in img.layers)


@pytest.mark.parametrize("stored, declared", [
    ("gzip", "application/vnd.oci.image.layer.v1.tar"),
    ("zstd", "application/vnd.oci.image.layer.v1.tar+gzip"),
    (None, "application/vnd.oci.image.layer.v1.tar+zstd"),
    ("gzip", "application/vnd.docker.image.rootfs.diff.tar"),
    ("zstd", "application/octet-stream"),
])
def test_compression_detected_by_content(stored, declared, tmp_path):
    img = image()
    path = write_oci_layout(tmp_path / "oci", img, compression=stored, media_types=[declared] * 3)
    with open_image(f"oci:{path}", tmp_path / "work") as opened:
        assert [l.media_type for l in opened.layers] == [declared] * 3
        assert layer_bytes(opened, tmp_path) == img.layers


def test_spool_reused_and_verified_once(tmp_path):
    img = image()
    path = write_oci_layout(tmp_path / "oci", img, compression="zstd")
    with open_image(f"oci:{path}", tmp_path / "work") as opened:
        first = uncompressed_layers(opened, tmp_path / "spool")
        second = uncompressed_layers(opened, tmp_path / "spool")
    assert first == second
    assert sorted(p.name for p in (tmp_path / "spool").iterdir()) == sorted(
        f"layer-sha256-{d.split(':')[1]}.tar" for d in img.diff_ids)


# --- selecting one image ------------------------------------------------------------------------

def two_images():
    a = SyntheticImage([BASE], {"Cmd": ["a"]}, tags=["app:1"])
    b = SyntheticImage([BASE, TOP], {"Cmd": ["b"]}, tags=["app:2", "registry.local:5000/app:2"])
    return a, b


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_multi_image_archive_selection(layout, tmp_path):
    a, b = two_images()
    path = write_docker_archive(tmp_path / "m.tar", [a, b], layout=layout)
    with pytest.raises(SlimError) as e:
        with open_image(f"docker-archive:{path}", tmp_path / "w"):
            pass
    assert str(e.value) == (f"{path}: archive holds 2 images; choose one with :REF "
                            "(@0 app:1, @1 app:2 registry.local:5000/app:2)")
    for ref, want in [("app:1", a), ("app:2", b), ("@0", a), ("@1", b),
                      ("registry.local:5000/app:2", b), ("docker.io/library/app:1", a)]:
        with open_image(f"docker-archive:{path}:{ref}", tmp_path / "w") as img:
            assert img.config_bytes == want.config_bytes
            assert layer_bytes(img, tmp_path) == want.layers
    with pytest.raises(SlimError, match=r"archive holds 2 images; there is no @2 \(they are numbered from @0\)"):
        with open_image(f"docker-archive:{path}:@2", tmp_path / "w"):
            pass
    with pytest.raises(SlimError, match=r"no image tagged app:3 in the archive \(it holds: @0 app:1, @1 app:2"):
        with open_image(f"docker-archive:{path}:app:3", tmp_path / "w"):
            pass


def test_oci_layout_selection(tmp_path):
    a, b = two_images()
    path = write_oci_layout(tmp_path / "oci", [a, b], refs=["one", "two"])
    with pytest.raises(SlimError) as e:
        with open_image(f"oci:{path}", tmp_path / "w"):
            pass
    assert str(e.value) == f"{path}: layout holds 2 images; choose one with :REF (@0 one, @1 two)"
    for ref, want in [("one", a), ("two", b), ("@1", b)]:
        with open_image(f"oci:{path}:{ref}", tmp_path / "w") as img:
            assert img.config_bytes == want.config_bytes
    with pytest.raises(SlimError, match=r"no image named three in the layout \(it holds: @0 one, @1 two\)"):
        with open_image(f"oci:{path}:three", tmp_path / "w"):
            pass
    # A single unnamed manifest is taken without :REF.
    path = write_oci_layout(tmp_path / "single", a, refs=[None])
    with open_image(f"oci:{path}", tmp_path / "w") as img:
        assert img.config_bytes == a.config_bytes


def test_image_index_follows_the_platform(tmp_path):
    amd = SyntheticImage([BASE], {"Cmd": ["amd64"]}, platform=("linux", "amd64"))
    arm = SyntheticImage([TOP], {"Cmd": ["arm64"]}, platform=("linux", "arm64"))
    ppc = SyntheticImage([EMPTY], {"Cmd": ["ppc"]}, platform=("linux", "ppc64le"))
    path = write_oci_layout(tmp_path / "oci", [arm, amd], as_index=True, refs=["multi"])
    want = {"amd64": amd, "arm64": arm}.get(host_platform().architecture, amd)
    with open_image(f"oci:{path}:multi", tmp_path / "w") as img:
        assert img.config_bytes == want.config_bytes
    path = write_oci_layout(tmp_path / "ppc", [ppc], as_index=True)
    if host_platform().architecture != "ppc64le":
        with pytest.raises(SlimError, match=r"the image index has no manifest for linux/\w+ or linux/amd64 "
                                             r"\(it has: linux/ppc64le\)"):
            with open_image(f"oci:{path}", tmp_path / "w"):
                pass


# --- damaged and hostile inputs -----------------------------------------------------------------

def open_error(ref, tmp_path, exc=SlimError) -> str:
    with pytest.raises(exc) as e:
        with open_image(ref, tmp_path / "work") as img:
            uncompressed_layers(img, tmp_path / "spool")
    assert_one_line(e.value)
    assert litter(tmp_path / "work") == [] if (tmp_path / "work").exists() else True
    return str(e.value)


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_diff_id_mismatch(compression, tmp_path):
    img = image()
    wrong = img.diff_ids[:]
    wrong[1] = digest(b"something else")
    bad = SyntheticImage(img.layers, img.config_extra, diff_ids=wrong)
    path = write_oci_layout(tmp_path / "oci", bad, compression=compression)
    msg = open_error(f"oci:{path}", tmp_path, CorruptImageError)
    assert msg == (f"layer 2 ({wrong[1][:19]}): diff_id mismatch (config says {wrong[1]}, "
                   f"content is {img.diff_ids[1]})")
    if (tmp_path / "spool").exists():
        assert [p.name for p in (tmp_path / "spool").iterdir()
                if not p.name.startswith("layer-")] == []  # no half-written spool files


def test_diff_id_mismatch_in_docker_archive(tmp_path):
    img = image()
    bad = SyntheticImage(img.layers, img.config_extra, diff_ids=[img.diff_ids[1]] * 3)
    path = write_docker_archive(tmp_path / "a.tar", bad)
    msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
    assert msg.startswith("layer 1 (") and "diff_id mismatch (config says" in msg


def test_layer_digest_mismatch(tmp_path):
    img = image()
    path = write_oci_layout(tmp_path / "oci", img, compression="gzip")
    manifest_desc = json.loads((path / "index.json").read_bytes())["manifests"][0]
    manifest = json.loads((path / "blobs" / "sha256" / manifest_desc["digest"].split(":")[1]).read_bytes())
    layer = manifest["layers"][0]
    blob = path / "blobs" / "sha256" / layer["digest"].split(":")[1]
    # Same uncompressed content, different gzip bytes of the same size: only the digest can tell.
    data = bytearray(blob.read_bytes())
    data[4:8] = b"\x01\x00\x00\x00"  # the gzip header's mtime field
    blob.write_bytes(bytes(data))
    msg = open_error(f"oci:{path}", tmp_path, CorruptImageError)
    assert msg.startswith("layer 1 (") and f"digest mismatch (manifest says {layer['digest']}, content is sha256:" in msg


def _cut_points(path: Path) -> list[tuple[str, int]]:
    """Offsets inside each member's header and data."""
    with tarfile.open(path) as tf:
        members = tf.getmembers()
    points = [(f"header of {m.name}", m.offset + 100) for m in members]
    points += [(f"data of {m.name}", m.offset_data + m.size // 2) for m in members if m.size > 1]
    return points


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_truncated_archive(layout, tmp_path):
    original = write_docker_archive(tmp_path / "orig.tar", image(), layout=layout).read_bytes()
    points = _cut_points(tmp_path / "orig.tar")
    assert len(points) > 10
    for where, offset in points + [("first block", 100)]:
        path = tmp_path / "a.tar"
        path.write_bytes(original[:offset])
        msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
        assert msg.startswith(f"{path}: "), where
        assert "truncated" in msg or "missing" in msg or "no manifest.json" in msg, (where, msg)


def test_truncated_oci_archive(tmp_path):
    path = write_oci_archive(tmp_path / "o.tar", image(), compression="gzip")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    msg = open_error(f"oci-archive:{path}", tmp_path, CorruptImageError)
    assert msg.startswith(f"{path}: ")


@pytest.mark.parametrize("content, message", [
    (os.urandom(4096), "not a tar archive"),
    (b"", "empty file, not a tar archive"),
    (b"hello world\n" * 100, "not a tar archive"),
])
def test_garbage_archive(content, message, tmp_path):
    path = tmp_path / "g.tar"
    path.write_bytes(content)
    msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
    assert message in msg


def test_missing_files(tmp_path):
    assert open_error(f"docker-archive:{tmp_path}/nope.tar", tmp_path) == f"no such file: {tmp_path}/nope.tar"
    assert open_error(f"oci:{tmp_path}/nope", tmp_path) == f"no such directory: {tmp_path}/nope"
    assert "is a directory" in open_error(f"docker-archive:{tmp_path}", tmp_path)
    path = write_docker_archive(tmp_path / "a.tar", image(), omit_members=["manifest.json"])
    assert open_error(f"docker-archive:{path}", tmp_path) == \
        f"{path}: not a docker-archive: no manifest.json in the archive"
    img = image()
    path = write_docker_archive(tmp_path / "b.tar", img, omit_members=[f"{img.config_digest[7:]}.json"])
    assert open_error(f"docker-archive:{path}", tmp_path) == \
        f"{path}: missing config '{img.config_digest[7:]}.json'"


def test_missing_layer_in_archive(tmp_path):
    img = image()
    path = write_docker_archive(tmp_path / "a.tar", img)
    manifest = read_json(TarStore(path), "manifest.json")
    victim = manifest[0]["Layers"][1]
    path = write_docker_archive(tmp_path / "a.tar", img, omit_members=[victim])
    assert open_error(f"docker-archive:{path}", tmp_path) == f"{path}: missing layer 2 {victim!r}"


def test_missing_oci_blob(tmp_path):
    img = image()
    layer_digest = digest(compress(img.layers[0], "gzip"))
    path = write_oci_layout(tmp_path / "oci", img, omit_blobs=[layer_digest])
    assert open_error(f"oci:{path}", tmp_path) == \
        f"{path}: missing layer 1 blob {layer_digest[:19]} 'blobs/sha256/{layer_digest[7:]}'"
    path = write_oci_layout(tmp_path / "oci2", img, omit_blobs=[img.config_digest])
    assert open_error(f"oci:{path}", tmp_path).startswith(f"{path}: missing config blob {img.config_digest[:19]}")
    (path / "index.json").unlink()
    assert open_error(f"oci:{path}", tmp_path) == f"{path}: not an OCI image layout: no index.json"
    (path / "oci-layout").unlink()
    assert open_error(f"oci:{path}", tmp_path) == f"{path}: not an OCI image layout: no oci-layout file"


def test_bad_json(tmp_path):
    path = write_docker_archive(tmp_path / "a.tar", image(), mutate_manifest=lambda m: b"[{not json")
    msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
    assert msg.startswith(f"{path}: manifest.json: bad JSON (Expecting property name")
    path = write_docker_archive(tmp_path / "b.tar", image(), mutate_manifest=lambda m: {"not": "a list"})
    assert open_error(f"docker-archive:{path}", tmp_path) == f"{path}: manifest.json: expected a list of images"
    path = write_oci_layout(tmp_path / "oci", image())
    (path / "index.json").write_text("{")
    assert open_error(f"oci:{path}", tmp_path).startswith(f"{path}: index.json: bad JSON")


def test_config_layer_count_mismatch(tmp_path):
    img = image()
    bad = SyntheticImage(img.layers, img.config_extra, diff_ids=img.diff_ids[:2])
    path = write_docker_archive(tmp_path / "a.tar", bad)
    msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
    assert msg == (f"{path}: config {bad.config_digest[7:]}.json: config lists 2 diff_ids but the "
                   "manifest lists 3 layers")
    path = write_oci_layout(tmp_path / "oci", bad)
    assert "config lists 2 diff_ids but the manifest lists 3 layers" in open_error(f"oci:{path}", tmp_path)


@pytest.mark.parametrize("bad_path, message", [
    ("../x/layer.tar", "path '../x/layer.tar' leaves the archive (path traversal)"),
    ("/etc/passwd", "absolute path '/etc/passwd' (path traversal)"),
    ("a/../../b", "path 'a/../../b' leaves the archive (path traversal)"),
])
def test_path_traversal_in_manifest(bad_path, message, tmp_path):
    def mutate(m):
        m[0]["Layers"][0] = bad_path
    path = write_docker_archive(tmp_path / "a.tar", image(), mutate_manifest=mutate)
    msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
    assert msg == f"{path}: manifest.json entry @0: layer 1: {message}"


@pytest.mark.parametrize("member, message", [
    (("../evil", b"x"), "member name: path '../evil' leaves the archive (path traversal)"),
    (("/abs", b"x"), "member name: absolute path '/abs' (path traversal)"),
])
def test_path_traversal_in_member_names(member, message, tmp_path):
    path = write_docker_archive(tmp_path / "a.tar", image(), extra_members=[member])
    msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
    assert msg == f"{path}: {message}"


def test_symlink_member_escaping(tmp_path):
    img = image()
    path = write_docker_archive(tmp_path / "a.tar", img)
    victim = read_json(TarStore(path), "manifest.json")[0]["Layers"][0]
    path = write_docker_archive(tmp_path / "a.tar", img, omit_members=[victim],
                                extra_members=[(victim, Symlink("../../../etc/passwd"))])
    msg = open_error(f"docker-archive:{path}", tmp_path, CorruptImageError)
    assert "leaves the archive (path traversal)" in msg


def test_oci_dir_symlink_escaping(tmp_path):
    img = image()
    path = write_oci_layout(tmp_path / "oci", img, compression=None)
    blob = path / "blobs" / "sha256" / img.diff_ids[0][7:]
    outside = tmp_path / "outside"
    outside.write_bytes(blob.read_bytes())
    blob.unlink()
    blob.symlink_to(outside)
    assert "leads outside the layout" in open_error(f"oci:{path}", tmp_path, CorruptImageError)


def test_duplicate_member_names(tmp_path):
    path = write_docker_archive(tmp_path / "a.tar", image(), extra_members=[("manifest.json", b"[]")])
    assert open_error(f"docker-archive:{path}", tmp_path) == \
        f"{path}: two archive members are named 'manifest.json'"


# --- layers: compression errors ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_corrupt_compressed_layers(kind, tmp_path):
    data = compress(BASE + os.urandom(20000), kind)
    diff_id = digest(BASE)
    cases = {
        "truncated": data[: len(data) // 2],
        "damaged": data[:20] + bytes(b ^ 0x55 for b in data[20:60]) + data[60:],
        "trailing garbage": data + b"garbage!",
    }
    for name, stored in cases.items():
        path = tmp_path / f"{name}.blob"
        path.write_bytes(stored)
        layer = Layer(Blob(path, 0, len(stored)), f"application/vnd.oci.image.layer.v1.tar+{kind}", Digest(diff_id))
        with pytest.raises(CorruptImageError) as e:
            uncompressed_layer(layer, tmp_path / "spool", index=3)
        if name == "damaged" and kind == "zstd":  # zstd frames carry no checksum by default
            assert str(e.value).startswith(f"layer 3 ({diff_id[:19]}): diff_id mismatch"), name
        else:
            assert str(e.value).startswith(f"layer 3 ({diff_id[:19]}): corrupt {kind} data: "), name
        assert_one_line(e.value)
        assert list((tmp_path / "spool").iterdir()) == []


def test_not_a_layer(tmp_path):
    path = tmp_path / "x.blob"
    path.write_bytes(b"PK\x03\x04 this is a zip" + bytes(600))
    layer = Layer(Blob(path, 0, path.stat().st_size), "application/vnd.oci.image.layer.v1.tar", Digest(digest(b"")))
    with pytest.raises(CorruptImageError, match=r"^layer \(sha256:e3b0c44298fc\): content is neither a tar "
                                                r"nor gzip/zstd-compressed"):
        uncompressed_layer(layer, tmp_path / "spool")


def test_concatenated_gzip_members(tmp_path):
    """pigz and some registries produce multi-member gzip streams."""
    half = len(BASE) // 2
    stored = gzip.compress(BASE[:half], mtime=0) + gzip.compress(BASE[half:], mtime=0)
    path = tmp_path / "multi.gz"
    path.write_bytes(stored)
    blob = uncompressed_layer(Layer(Blob(path, 0, len(stored)), "x", Digest(digest(BASE))), tmp_path / "spool")
    assert blob.open().read() == BASE


def test_missing_blob_file(tmp_path):
    layer = Layer(Blob(tmp_path / "gone", 0, 10), "x", Digest(digest(b"")))
    with pytest.raises(SlimError, match=r"^layer 1 \(sha256:e3b0c44298fc\): cannot read .*gone: No such file"):
        uncompressed_layer(layer, tmp_path / "spool", index=1)


# --- writing ------------------------------------------------------------------------------------

def output_image(tmp_path, tags=("out:1",)) -> OutputImage:
    img = image()
    path = write_oci_layout(tmp_path / "src", img, compression="zstd")
    spool = tmp_path / "srcspool"
    with open_image(f"oci:{path}", tmp_path / "work") as opened:
        blobs = uncompressed_layers(opened, spool)
    return OutputImage(img.config_bytes, blobs, list(tags))


SINKS = {
    "docker-archive": lambda d: f"docker-archive:{d / 'out.tar'}",
    "oci": lambda d: f"oci:{d / 'out'}",
    "oci-archive": lambda d: f"oci-archive:{d / 'out.tar'}",
}


@pytest.mark.parametrize("sink", SINKS)
def test_write_and_read_back(sink, tmp_path):
    out = output_image(tmp_path)
    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    dest = SINKS[sink](dest_dir)
    summary = write_image(out, dest, tmp_path / "work")
    assert "image sha256:" in summary and "3 layers" in summary
    assert litter(dest_dir) == []
    with open_image(dest, tmp_path / "work") as back:
        assert back.config_bytes == out.config_bytes
        assert layer_bytes(back, tmp_path / "s2") == [b.open().read() for b in out.layers]
        if sink == "docker-archive":
            assert back.repo_tags == ["out:1"]
            assert [l.media_type for l in back.layers] == ["application/vnd.docker.image.rootfs.diff.tar"] * 3
        else:
            assert [l.media_type for l in back.layers] == ["application/vnd.oci.image.layer.v1.tar"] * 3
    if sink.startswith("oci"):
        with open_image(dest + ":out:1", tmp_path / "work") as back:  # ref.name from the tag
            assert back.config_bytes == out.config_bytes


def test_a_layout_named_in_any_bytes(tmp_path):
    """A ref name from the command line may not be UTF-8 (argv is decoded with surrogateescape)."""
    name = os.fsdecode(b"caf\xe9")
    write_image(output_image(tmp_path), ImageRef(Transport.OCI, str(tmp_path / "out"), name), tmp_path / "work")
    assert b'"caf\\udce9"' in (tmp_path / "out" / "index.json").read_bytes()  # ASCII JSON
    with open_image(ImageRef(Transport.OCI, str(tmp_path / "out"), name), tmp_path / "work") as back:
        assert back.config_bytes == output_image(tmp_path).config_bytes


def test_docker_archive_is_the_legacy_layout(tmp_path):
    out = output_image(tmp_path, tags=("out:1", "registry.local:5000/team/out"))
    path = tmp_path / "out.tar"
    write_image(out, f"docker-archive:{path}", tmp_path / "work")
    with tarfile.open(path) as tf:
        members = tf.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)
        assert all(m.mode == (0o755 if m.isdir() else 0o644) for m in members)
        manifest = json.loads(tf.extractfile("manifest.json").read())
        repositories = json.loads(tf.extractfile("repositories").read())
    assert manifest[0]["RepoTags"] == ["out:1", "registry.local:5000/team/out:latest"]
    assert manifest[0]["Config"] == hashlib.sha256(out.config_bytes).hexdigest() + ".json"
    assert all(p.endswith("/layer.tar") for p in manifest[0]["Layers"])
    assert set(repositories) == {"out", "registry.local:5000/team/out"}


@pytest.mark.parametrize("sink", SINKS)
def test_writing_is_deterministic(sink, tmp_path):
    out = output_image(tmp_path)

    def snapshot(root: Path) -> dict:
        if root.is_file():
            return {"": root.read_bytes()}
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    results = []
    for i in range(2):
        d = tmp_path / f"run{i}"
        d.mkdir()
        write_image(out, SINKS[sink](d), tmp_path / "work")
        results.append(snapshot(d / ("out.tar" if "archive" in sink else "out")))
    assert results[0] == results[1]


@pytest.mark.parametrize("sink", SINKS)
@pytest.mark.parametrize("damage", ["truncated", "missing", "wrong content"])
def test_failed_write_leaves_nothing(sink, damage, tmp_path):
    good = output_image(tmp_path)
    victim = good.layers[1]
    copy = tmp_path / "victim.tar"
    copy.write_bytes(victim.open().read())
    if damage == "truncated":
        copy.write_bytes(copy.read_bytes()[: victim.size // 2])
    elif damage == "missing":
        copy.unlink()
    else:
        copy.write_bytes(bytes(victim.size))
    layers = list(good.layers)
    layers[1] = Blob(copy, 0, victim.size)
    bad = OutputImage(good.config_bytes, layers, good.tags)
    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    dest = SINKS[sink](dest_dir)
    with pytest.raises(SlimError) as e:
        write_image(bad, dest, tmp_path / "work")
    assert_one_line(e.value)
    assert str(e.value).startswith("layer 2 (")
    assert list(dest_dir.iterdir()) == []  # no destination, no temporaries

    # An existing destination survives a failed write untouched, and is replaced by a good one.
    write_image(good, dest, tmp_path / "work")
    target = dest_dir / ("out.tar" if "archive" in sink else "out")
    before = sorted((p.name, p.stat().st_size) for p in ([target] if target.is_file() else target.rglob("*")))
    with pytest.raises(SlimError):
        write_image(bad, dest, tmp_path / "work")
    after = sorted((p.name, p.stat().st_size) for p in ([target] if target.is_file() else target.rglob("*")))
    assert before == after
    assert sorted(p.name for p in dest_dir.iterdir()) == [target.name]
    other = OutputImage(good.config_bytes, good.layers, ["other:2"])
    write_image(other, dest, tmp_path / "work")
    with open_image(dest + (":other:2" if sink.startswith("oci") else ""), tmp_path / "work") as back:
        assert back.config_bytes == good.config_bytes
    assert sorted(p.name for p in dest_dir.iterdir()) == [target.name]


def test_refuses_to_replace_an_unrelated_directory(tmp_path):
    out = output_image(tmp_path)
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(SlimError, match=r"refusing to replace .*home: it exists and is not an OCI layout"):
        write_image(out, f"oci:{precious}", tmp_path / "work")
    assert (precious / "notes.txt").read_text() == "keep me"
    with pytest.raises(SlimError, match="is a directory"):
        write_image(out, f"docker-archive:{precious}", tmp_path / "work")
    with pytest.raises(SlimError, match="does not exist"):
        write_image(out, f"docker-archive:{tmp_path}/no/such/dir/x.tar", tmp_path / "work")


def test_inconsistent_output_image_is_refused(tmp_path):
    out = output_image(tmp_path)
    with pytest.raises(SlimError, match="its config lists 3 diff_ids for 2 layers"):
        write_image(OutputImage(out.config_bytes, out.layers[:2]), f"oci:{tmp_path}/o", tmp_path / "work")
    with pytest.raises(UsageError, match="invalid tag 'Bad Tag'"):
        write_image(OutputImage(out.config_bytes, out.layers, ["Bad Tag"]), f"docker-archive:{tmp_path}/o.tar",
                    tmp_path / "work")
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.tar").exists()


def test_protect(tmp_path):
    out = output_image(tmp_path)
    with pytest.raises(SlimError, match=r"refusing to overwrite app:1 \(it is the source image\)"):
        write_image(out, "docker-daemon:app:1", tmp_path / "work", protect={"app:1"})
    with pytest.raises(SlimError, match="refusing to overwrite"):
        write_image(out, "docker-daemon:docker.io/library/app", tmp_path / "work", protect={"app:latest"})
    src = write_docker_archive(tmp_path / "src.tar", image())
    with pytest.raises(SlimError, match="refusing to overwrite"):
        write_image(out, f"docker-archive:{src}", tmp_path / "work", protect={f"docker-archive:{src}"})
    # Anything else is fine.
    write_image(out, f"docker-archive:{tmp_path}/other.tar", tmp_path / "work",
                protect={f"docker-archive:{src}", "app:1"})


def test_daemon_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(SlimError) as e:
        with open_image("docker-daemon:debian:bookworm", tmp_path / "work"):
            pass
    assert str(e.value).startswith("cannot reach the Docker daemon: ")
    assert_one_line(e.value)
    with pytest.raises(SlimError, match=r"^cannot reach the Docker daemon: "):
        write_image(output_image(tmp_path), "docker-daemon:x:y", tmp_path / "work")
    assert list((tmp_path / "work").glob("*.tar")) == []


# --- the cost of opening ---------------------------------------------------------------------------

def _bytes_read() -> int:
    """Bytes this process has read through system calls so far (`rchar` of /proc/self/io)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError as e:
        requires.unavailable(f"/proc/self/io cannot be read ({e.strerror})")
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("rchar:")))


@pytest.mark.slow
def test_large_archive_is_indexed_not_extracted(tmp_path):
    """Opening a 1 GiB docker-archive reads its tar headers and JSON only (its speed: bench/bench_index.py)."""
    size = 1 << 30
    h = hashlib.sha256()  # the layer is 1 GiB of zeros (a valid, empty tar), stored sparse
    zeros = bytes(8 << 20)
    for _ in range(size // len(zeros)):
        h.update(zeros)
    diff_id = "sha256:" + h.hexdigest()
    from imagefactory import make_config
    config = make_config([diff_id])
    archive = tmp_path / "big-image.tar"
    with open(archive, "wb") as out:
        def member(name, data_size, writer):
            t = tarfile.TarInfo(name)
            t.size, t.mtime = data_size, 0
            out.write(t.tobuf(tarfile.PAX_FORMAT))
            writer()
            out.write(bytes(-data_size % 512))
        def sparse():
            out.truncate(out.tell() + size)
            out.seek(0, 2)
        member("l1/layer.tar", size, sparse)
        member("c.json", len(config), lambda: out.write(config))
        manifest = json.dumps([{"Config": "c.json", "RepoTags": ["big:1"], "Layers": ["l1/layer.tar"]}]).encode()
        member("manifest.json", len(manifest), lambda: out.write(manifest))
        out.write(bytes(1024))
    before = _bytes_read()
    with open_image(f"docker-archive:{archive}", tmp_path / "work") as img:
        read = _bytes_read() - before
        assert read < 1 << 20, f"opening read {read} bytes"
        blob = uncompressed_layer(img.layers[0], tmp_path / "spool")
        assert blob.path == archive and blob.size == size
    assert not (tmp_path / "spool").exists() or not any((tmp_path / "spool").iterdir())


# --- fuzz: any damage is a one-line SlimError, never a traceback -------------------------------

_FUZZ_VALUES = [None, 0, -1, 1 << 70, "", "x", "sha256:" + "0" * 64, [], [1], {}, {"a": 1}, True, 1.5,
                "../../etc/passwd", "/abs"]


def _mutate(doc, rnd):
    """Replace (or delete) one random node of a JSON document."""
    paths = []

    def walk(x, p):
        paths.append(p)
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, p + [k])
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, p + [i])

    walk(doc, [])
    p = rnd.choice(paths)
    if not p:
        return rnd.choice(_FUZZ_VALUES)
    parent = doc
    for k in p[:-1]:
        parent = parent[k]
    if rnd.random() < 0.2 and isinstance(parent, dict):
        del parent[p[-1]]
    else:
        parent[p[-1]] = rnd.choice(_FUZZ_VALUES)
    return doc


def test_fuzzed_inputs_fail_with_one_line(tmp_path):
    import random

    rnd = random.Random(1234)
    img = image()
    errors = 0
    for it in range(240):
        d = tmp_path / f"c{it}"
        d.mkdir()
        kind = ("oci", "legacy", "docker25")[it % 3]
        selector = rnd.choice(["", ":test:latest", ":@0", ":@1", ":nope"])
        if kind == "oci":
            root = write_oci_layout(d / "oci", img, compression=rnd.choice([None, "gzip", "zstd"]),
                                    as_index=rnd.random() < 0.3)
            victim = rnd.choice([p for p in root.rglob("*")
                                 if p.is_file() and p.stat().st_size < 5000 and p.read_bytes()[:1] == b"{"])
            victim.write_bytes(json.dumps(_mutate(json.loads(victim.read_bytes()), rnd)).encode())
            ref = f"oci:{root}{selector}"
        else:
            path = write_docker_archive(d / "a.tar", img, layout="oci" if kind == "docker25" else "legacy",
                                        mutate_manifest=lambda m: _mutate(m, rnd))
            if rnd.random() < 0.5:
                data = bytearray(path.read_bytes())
                for _ in range(rnd.randint(1, 5)):
                    data[rnd.randrange(len(data))] = rnd.randrange(256)
                path.write_bytes(bytes(data))
            ref = f"docker-archive:{path}{selector}"
        try:
            with open_image(ref, d / "w") as opened:
                uncompressed_layers(opened, d / "s")
        except SlimError as e:
            errors += 1
            assert str(e) and "\n" not in str(e), (ref, str(e))
        assert litter(d / "w") == [] and not list((d / "w").glob("source-*"))
    assert errors > 100  # the mutations did reach the parsers
