"""Packing the keep set: one deterministic layer with original metadata, and the carried-over config."""

from __future__ import annotations

import hashlib
import json
import tarfile

from slimmer.pack.config import SOURCE_LABEL, slim_config
from slimmer.pack.layer import write_layer

import build_samples
from imagefactory import Dir, File, Hardlink, Symlink, make_layer, merged_rootfs


def fixture_fs(tmp_path, with_tmp: bool = True):
    entries = [
        ("opt/", Dir(mode=0o750, uid=10, gid=20)),
        ("opt/app/", Dir(mode=0o700, uid=1000, gid=1000)),
        ("opt/app/run", File(b"#!/bin/sh\n", mode=0o4755, uid=1000, gid=1000,
                             xattrs={"security.capability": "\x01\x00\x00\x02"})),
        ("opt/app/run-link", Hardlink("opt/app/run")),
        ("opt/app/current", Symlink("run")),
        ("opt/app/unused", b"not kept"),
    ] + ([("tmp/", Dir(mode=0o1777))] if with_tmp else [])
    return merged_rootfs(tmp_path, make_layer(entries, mtime=1_700_000_000)).rootfs


def members(path):
    with tarfile.open(path) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


def test_layer_keeps_metadata_parents_hardlinks_and_capabilities(tmp_path):
    fs = fixture_fs(tmp_path)
    packed = write_layer(fs, ["/opt/app/run", "/opt/app/run-link", "/opt/app/current", "/tmp"], tmp_path / "out.tar")
    got = members(tmp_path / "out.tar")
    assert list(got) == ["opt", "opt/app", "opt/app/current", "opt/app/run", "opt/app/run-link", "tmp"]
    assert (got["opt"].mode, got["opt"].uid, got["opt"].gid) == (0o750, 10, 20)
    assert (got["opt/app"].mode, got["opt/app"].uid) == (0o700, 1000)
    run = got["opt/app/run"]
    assert run.mode == 0o4755 and run.mtime == 1_700_000_000 and run.isfile()
    assert run.pax_headers["SCHILY.xattr.security.capability"] == "\x01\x00\x00\x02"
    assert got["opt/app/run-link"].islnk() and got["opt/app/run-link"].linkname == "opt/app/run"
    assert got["opt/app/current"].issym() and got["opt/app/current"].linkname == "run"
    assert got["tmp"].mode == 0o1777
    assert packed.size == len(b"#!/bin/sh\n") + len("run")  # hardlinked content once, plus the symlink
    assert packed.diff_id == "sha256:" + hashlib.sha256((tmp_path / "out.tar").read_bytes()).hexdigest()


def test_layer_bytes_do_not_depend_on_the_order_paths_come_in(tmp_path):
    fs = fixture_fs(tmp_path)
    a = write_layer(fs, ["/opt/app/run", "/opt/app/current"], tmp_path / "a.tar")
    b = write_layer(fs, ["/opt/app/current", "/opt/app/run"], tmp_path / "b.tar")
    assert a.diff_id == b.diff_id and (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_a_missing_tmp_is_created_world_writable_and_sticky(tmp_path):
    fs = fixture_fs(tmp_path, with_tmp=False)
    write_layer(fs, ["/opt/app/run"], tmp_path / "out.tar")
    tmp = members(tmp_path / "out.tar")["tmp"]
    assert tmp.isdir() and tmp.mode == 0o1777 and (tmp.uid, tmp.gid, tmp.mtime) == (0, 0, 0)


def test_config_carries_over_with_one_layer_a_source_label_and_history():
    original = {
        "architecture": "amd64", "os": "linux", "created": "2026-01-02T03:04:05Z",
        "container": "abc", "docker_version": "20.10",
        "config": {"Entrypoint": ["/app"], "Cmd": ["--serve"], "Env": ["A=1"], "User": "app", "WorkingDir": "/w",
                   "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}}, "Labels": {"x": "y"},
                   "StopSignal": "SIGINT", "Healthcheck": {"Test": ["CMD", "/app", "--ping"]}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:aa", "sha256:bb"]},
        "history": [{"created_by": "ADD rootfs"}, {"created_by": "ENV A=1", "empty_layer": True}, {"created_by": "COPY app"}],
    }
    config_bytes = slim_config(original, "sha256:source", "sha256:new")
    config = json.loads(config_bytes)
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:new"]}
    for key in ("Entrypoint", "Cmd", "Env", "User", "WorkingDir", "ExposedPorts", "Volumes", "StopSignal", "Healthcheck"):
        assert config["config"][key] == original["config"][key], key
    assert config["config"]["Labels"] == {"x": "y", SOURCE_LABEL: "sha256:source"}
    assert config["created"] == original["created"] and "container" not in config
    assert [h.get("empty_layer", False) for h in config["history"]] == [True, True, True, False]
    assert config["history"][-1]["created"] == original["created"]
    assert config_bytes == slim_config(original, "sha256:source", "sha256:new")  # stable bytes
    assert original["config"]["Labels"] == {"x": "y"}  # the source config is not modified


def test_the_sample_builder_tells_a_slim_copy_from_its_sample():
    # A slim output keeps its source's labels, the sample recipe's too: the builder knows it by the
    # label slim adds, and never tags it as the sample.
    assert build_samples.SLIM_OUTPUT_LABEL == SOURCE_LABEL
