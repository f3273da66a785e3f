"""One image, every transport, one merged file index.

The waste sample (5 layers: a whiteout, an overwritten file) is opened from the Docker daemon,
from its `docker save` tarball, and from OCI layouts that skopeo made of that tarball
(`oci:` and `oci-archive:`, gzip, and `oci:` with zstd). Every entry of the merged tree must be
the same everywhere: path, type, mode, owner, size, mtime, link target, hardlink, layer and
the sha256 of the content of every regular file. The daemon's index is also checked against
the filesystem Docker itself merges for a container of the image (`docker export`).
"""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from dataclasses import asdict

import pytest

from slimmer.analysis import open_analysis
from slimmer.rootfs.entry import EntryType

import build_samples
import requires
from elfhelpers import export_image

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

SAMPLE = "waste"
GREETING = b"greeting v2: hello from the waste sample\n"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

# What `docker create` adds to a container's filesystem (the "init layer" and mount points).
CONTAINER_PATHS = {"/.dockerenv", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab",
                   "/dev/console", "/dev/pts", "/dev/shm", "/proc", "/sys"}


def _sha256(fs, entry) -> str:
    h = hashlib.sha256()
    with fs.open(entry) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def index(reference: str) -> dict:
    """Everything about the merged tree of `reference`, in a comparable form."""
    with open_analysis(reference) as opened:
        fs = opened.fs
        entries = {}
        for e in fs.entries():
            entries[e.path] = (e.type.value, oct(e.mode), e.uid, e.gid, e.size, e.mtime, e.link, e.hardlink_of,
                               e.devmajor, e.devminor, sorted((e.xattrs or {}).items()), e.layer,
                               _sha256(fs, e) if e.type is EntryType.FILE else None)
        return {
            "entries": entries,
            "config_digest": opened.image.config_digest,
            "diff_ids": [layer.diff_id for layer in opened.image.layers],
            "media_types": [layer.media_type for layer in opened.image.layers],
            "layer_stats": [asdict(s) for s in opened.merged.layers],
            "wasted_bytes": opened.merged.wasted_bytes,
        }


def assert_same_entries(got: dict, want: dict, label: str) -> None:
    """Equality of two {path: row} maps, reported as the first few differences."""
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = [(p, got[p], want[p]) for p in sorted(set(got) & set(want)) if got[p] != want[p]]
    assert not (missing or extra or changed), (
        f"{label}: {len(missing)} missing {missing[:5]}, {len(extra)} extra {extra[:5]}, "
        f"{len(changed)} different, e.g. {changed[:3]}")


@pytest.fixture(scope="module")
def references(sample_image, sample_archive, tmp_path_factory) -> dict[str, str]:
    """The waste sample under every transport: {label: reference}."""
    tag = sample_image(SAMPLE)
    archive = sample_archive(SAMPLE)
    skopeo = requires.program("skopeo")
    d = tmp_path_factory.mktemp("layouts")
    # skopeo (1.9, Debian's) gzips the layers for an OCI destination, even when asked not to
    # (--dest-oci-accept-uncompressed-layers): uncompressed OCI layouts are tested in test_image_io.
    copies = {
        "oci": ([], f"oci:{d / 'oci'}:waste"),
        "oci-archive": ([], f"oci-archive:{d / 'oci.tar'}:waste"),
        "oci+zstd": (["--dest-compress-format", "zstd"], f"oci:{d / 'oci-zstd'}:waste"),
    }
    refs = {"docker-daemon": f"docker-daemon:{tag}", "docker-archive": f"docker-archive:{archive}"}
    for label, (options, dest) in copies.items():
        proc = subprocess.run([skopeo, "copy", "--quiet", *options, f"docker-archive:{archive}", dest],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"skopeo copy to {dest}: {proc.stderr}"
        refs[label] = dest
    return refs


@pytest.fixture(scope="module")
def daemon_index(references) -> dict:
    return index(references["docker-daemon"])


def test_the_daemon_index_is_the_waste_image(daemon_index):
    """What the comparisons compare is the real thing: five layers, the whiteout applied,
    the overwritten file's last version, hardlinks resolved."""
    entries = daemon_index["entries"]
    assert len(daemon_index["diff_ids"]) == 5
    assert len(entries) > 5000
    assert "/opt/big.bin" not in entries and entries["/opt"][0] == "dir"
    greeting = entries["/etc/greeting.txt"]
    assert greeting[0] == "file" and greeting[4] == len(GREETING)
    assert greeting[11] == 4 and greeting[12] == hashlib.sha256(GREETING).hexdigest()
    assert any(row[7] for row in entries.values()), "no hardlink in the index"
    assert {row[0] for row in entries.values()} >= {"file", "dir", "symlink"}
    # the removed 20 MiB file and the first greeting.txt (see fixtures/samples/waste/Dockerfile)
    assert daemon_index["wasted_bytes"] == 20971520 + (build_samples.RECIPES / SAMPLE / "greeting.txt").stat().st_size


@pytest.mark.parametrize("label, media_type", [
    ("docker-archive", "application/vnd.docker.image.rootfs.diff.tar"),
    ("oci", OCI_LAYER + "+gzip"),
    ("oci-archive", OCI_LAYER + "+gzip"),
    ("oci+zstd", OCI_LAYER + "+zstd"),
])
def test_every_transport_gives_the_same_index(references, daemon_index, label, media_type):
    got = index(references[label])
    assert got["media_types"] == [media_type] * 5  # the layers really are stored that way
    assert got["diff_ids"] == daemon_index["diff_ids"]
    if label == "docker-archive":  # the very same image (skopeo rewrites the config as an OCI one)
        assert got["config_digest"] == daemon_index["config_digest"]
    assert_same_entries(got["entries"], daemon_index["entries"], label)
    assert got["layer_stats"] == daemon_index["layer_stats"]
    assert got["wasted_bytes"] == daemon_index["wasted_bytes"]


_TAR_TYPES = {tarfile.DIRTYPE: "dir", tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.LNKTYPE: "file",
              tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


def test_the_index_is_what_docker_merges(references, daemon_index, docker_client, tmp_path):
    """`docker export` of a container is Docker's own merge of the layers: the same files, with
    the same metadata and content (minus what Docker adds to every container; directory mtimes
    are not compared, as creating the container touches some)."""
    exported = export_image(docker_client, references["docker-daemon"].split(":", 1)[1], tmp_path / "export.tar")
    docker_view: dict[str, tuple] = {}
    with tarfile.open(exported) as tf:
        members = {"/" + m.name.strip("/").removeprefix("./"): m for m in tf}
        hashes: dict[str, str] = {}
        for path, m in members.items():
            if m.isreg():
                h = hashlib.sha256()
                f = tf.extractfile(m)
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                hashes[path] = h.hexdigest()
        for path, m in members.items():
            if path in CONTAINER_PATHS or path == "/":
                continue
            kind = _TAR_TYPES[m.type]
            content = hashes["/" + m.linkname.strip("/")] if m.islnk() else hashes.get(path)
            size = members["/" + m.linkname.strip("/")].size if m.islnk() else (m.size if m.isreg() else 0)
            docker_view[path] = (kind, oct(m.mode & 0o7777), m.uid, m.gid, size, None if kind == "dir" else m.mtime,
                                 m.linkname if m.issym() else "", content)
    ours = {path: (row[0], row[1], row[2], row[3], row[4], None if row[0] == "dir" else row[5], row[6], row[12])
            for path, row in daemon_index["entries"].items() if path not in CONTAINER_PATHS and path != "/"}
    assert_same_entries(ours, docker_view, "docker export")
