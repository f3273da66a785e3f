"""`slim audit` against what Docker says about the same images.

For every sample (and the base they are built on): per-layer sizes equal `docker history`'s,
the total equals `docker image inspect`'s Size, each layer's created_by is its history entry's,
file counts and largest files agree with an independent merge of the layers
(fixtures/strace_truth.ImageFS), and the waste sample's wasted bytes are exactly the removed
big file plus the overwritten greeting, as its recipe says.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import build_samples
import strace_truth

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

SAMPLES = ["base", "c-app", "sh-app", "py-app", "waste"]
LAYER_KEYS = {"digest", "size", "created_by", "added", "changed", "removed"}
TOP_KEYS = {"image", "total_size", "file_count", "wasted_bytes", "layers", "largest"}
WASTE_RECIPE = build_samples.RECIPES / "waste"


def run_slim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slimmer", *args], capture_output=True, text=True, timeout=600)


def _read_member(tf: tarfile.TarFile, name: str) -> bytes:
    f = tf.extractfile(name)
    assert f is not None, name
    return f.read()


class Sample:
    """One sample image: its tag, Docker's view of it, its `docker save` archive and audit."""

    def __init__(self, name: str, tag: str, archive: Path, docker_client) -> None:
        self.name, self.tag, self.archive = name, tag, archive
        self.image = docker_client.images.get(tag)
        with tarfile.open(archive) as tf:
            manifest = json.loads(_read_member(tf, "manifest.json"))
            config_bytes = _read_member(tf, manifest[0]["Config"])
        assert "sha256:" + hashlib.sha256(config_bytes).hexdigest() == self.image.id, \
            f"{archive} is not a save of {tag}"
        self.config = json.loads(config_bytes)
        proc = run_slim("audit", tag, "--json")
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        self.report = json.loads(proc.stdout)
        self._fs: strace_truth.ImageFS | None = None

    @property
    def fs(self) -> strace_truth.ImageFS:
        """An independent merge of the layers (tarfile and the whiteout rules, nothing of slimmer)."""
        if self._fs is None:
            self._fs = strace_truth.ImageFS.from_docker_archive(self.archive)
        return self._fs

    def layer_history(self) -> list[dict]:
        """The `docker history` rows that made a layer, oldest first.

        Docker lists history newest first, one row per config history entry; rows of
        instructions that made no layer (ENV, CMD, LABEL...) have Size 0, but so does a real
        layer that changed nothing on disk (`RUN rm ...`): the config's empty_layer flags decide.
        """
        rows = list(reversed(self.image.history()))
        history = self.config["history"]
        assert len(rows) == len(history)
        for row, entry in zip(rows, history):
            assert row["CreatedBy"] == entry.get("created_by", "")  # the two lists line up
        made = [row for row, entry in zip(rows, history) if not entry.get("empty_layer")]
        assert len(made) == len(self.image.attrs["RootFS"]["Layers"])
        return made


@pytest.fixture(scope="module")
def samples(docker_client, sample_image, sample_archive, tmp_path_factory):
    cache: dict[str, Sample] = {}

    def get(name: str) -> Sample:
        if name not in cache:
            if name == "base":
                sample_image("waste")  # makes sure the base image exists
                tag = build_samples.BASE_TAG
                archive = tmp_path_factory.mktemp("base") / "base.tar"
                with open(archive, "wb") as f:
                    for chunk in docker_client.images.get(tag).save(named=tag):
                        f.write(chunk)
            else:
                tag, archive = sample_image(name), sample_archive(name)
            cache[name] = Sample(name, tag, archive, docker_client)
        return cache[name]

    return get


@pytest.mark.parametrize("name", SAMPLES)
def test_audit_json_schema(samples, name):
    report = samples(name).report
    assert TOP_KEYS <= set(report)
    assert report["image"] == f"docker-daemon:{samples(name).tag}"
    for key in ("total_size", "file_count", "wasted_bytes"):
        assert isinstance(report[key], int) and report[key] >= 0, key
    assert report["layers"] and report["largest"]
    for layer in report["layers"]:
        assert LAYER_KEYS <= set(layer)
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", layer["digest"])
        assert all(isinstance(layer[k], int) and layer[k] >= 0 for k in ("size", "added", "changed", "removed"))
        assert isinstance(layer["created_by"], str)
    for item in report["largest"]:
        assert {"path", "size"} <= set(item) and item["path"].startswith("/") and isinstance(item["size"], int)


@pytest.mark.parametrize("name", SAMPLES)
def test_layers_agree_with_docker_history(samples, name):
    sample = samples(name)
    layers = sample.report["layers"]
    assert [l["digest"] for l in layers] == sample.image.attrs["RootFS"]["Layers"]
    made = sample.layer_history()
    assert [l["size"] for l in layers] == [row["Size"] for row in made]
    assert [l["created_by"] for l in layers] == [row["CreatedBy"] for row in made]


@pytest.mark.parametrize("name", SAMPLES)
def test_total_size_is_docker_image_inspect_size(samples, name):
    sample = samples(name)
    assert sample.report["total_size"] == sample.image.attrs["Size"]
    assert sample.report["total_size"] == sum(l["size"] for l in sample.report["layers"])


@pytest.mark.parametrize("name", SAMPLES)
def test_file_count_and_largest_files_agree_with_an_independent_merge(samples, name):
    sample = samples(name)
    entries = sample.fs.entries
    assert sample.report["file_count"] == sum(1 for e in entries.values() if e.kind != "dir")
    largest = sample.report["largest"]
    assert len(largest) == 10
    sizes = [item["size"] for item in largest]
    assert sizes == sorted(sizes, reverse=True)
    named = set()
    for item in largest:
        for path in [item["path"], *item.get("hardlinks", [])]:
            assert entries[path].kind == "file" and entries[path].size == item["size"], path
            named.add(path)
    # Nothing bigger than the last one listed is missing (hardlinks are listed with their first name).
    bigger = {p for p, e in entries.items() if e.kind == "file" and e.size > sizes[-1]}
    assert bigger <= named, sorted(bigger - named)


# --- the waste sample, whose numbers its recipe gives ----------------------------------------------

def _waste_recipe() -> tuple[str, int, int, int]:
    """(big file path, its size, greeting.txt's first size, its second size) from the recipe."""
    dockerfile = (WASTE_RECIPE / "Dockerfile").read_text()
    big = re.search(r"^RUN head -c (\d+) /dev/zero > (\S+)$", dockerfile, re.M)
    assert big and re.search(rf"^RUN rm {re.escape(big.group(2))}$", dockerfile, re.M)
    first = (WASTE_RECIPE / "greeting.txt").stat().st_size
    second = re.search(r'^RUN echo "(.*)" > /etc/greeting.txt$', dockerfile, re.M)
    assert second
    return big.group(2), int(big.group(1)), first, len(second.group(1)) + 1  # echo adds a newline


def test_waste_wasted_bytes_are_the_removed_and_the_overwritten_file(samples):
    big_path, big_size, first, _ = _waste_recipe()
    assert (big_size, first) == (20971520, 55)  # the recipe as this test was written for
    report = samples("waste").report
    assert report["wasted_bytes"] == big_size + first == 20971575
    assert all(item["path"] != big_path for item in report["largest"])


def test_waste_layers_added_changed_removed(samples):
    _, big_size, first, second = _waste_recipe()
    layers = samples("waste").report["layers"]
    base_files = samples("base").report["file_count"]
    assert [(l["added"], l["changed"], l["removed"], l["size"]) for l in layers] == [
        (base_files, 0, 0, samples("base").report["total_size"]),  # FROM the base
        (1, 0, 0, big_size),  # RUN head -c ... > /opt/big.bin
        (0, 0, 1, 0),  # RUN rm /opt/big.bin: a real layer of size 0 (a whiteout)
        (1, 0, 0, first),  # COPY greeting.txt
        (0, 1, 0, second),  # RUN echo ... > /etc/greeting.txt
    ]
    assert samples("waste").report["file_count"] == base_files + 1
    assert samples("base").report["wasted_bytes"] == 0


def test_waste_text_output_shows_the_table(samples):
    sample = samples("waste")
    report = sample.report
    proc = run_slim("audit", sample.tag)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Image: docker-daemon:{sample.tag}"
    assert lines[1].startswith("Total size: ") and \
        lines[1].endswith(f"({report['total_size']} bytes) in {report['file_count']} files")
    assert lines[2].startswith(f"Wasted: 21MB ({report['wasted_bytes']} bytes ")
    header = lines.index(next(line for line in lines if line.startswith("LAYER")))
    assert lines[header].split() == ["LAYER", "SIZE", "STORED", "ADDED", "CHANGED", "REMOVED", "CREATED", "BY"]
    rows = lines[header + 1:header + 1 + len(report["layers"])]
    # Sizes as `docker history` prints them, in the same order (oldest first here).
    docker_sizes = subprocess.run(["docker", "history", "--format", "{{.Size}}", sample.tag], capture_output=True,
                                  text=True, check=True).stdout.split()[::-1]
    made = [size for size, entry in zip(docker_sizes, sample.config["history"]) if not entry.get("empty_layer")]
    assert made == ["116MB", "21MB", "0B", "55B", "41B"]
    for row, layer, size in zip(rows, report["layers"], made):
        fields = row.split(None, 6)
        assert fields[0] == layer["digest"].split(":")[1][:12]
        assert fields[1] == size
        assert [int(f) for f in fields[3:6]] == [layer["added"], layer["changed"], layer["removed"]]
        created_by = " ".join(layer["created_by"].split())
        shown = fields[6] if len(fields) > 6 else ""
        if shown.endswith("…"):  # cut to 80 characters
            assert len(shown) == 80 and created_by.startswith(shown[:-1])
        else:
            assert shown == created_by
    assert lines[header + 1 + len(report["layers"])] == ""
    listed = lines[lines.index("Largest files:") + 1:]
    for item, line in zip(report["largest"], listed):
        assert line.split()[1] == item["path"]
