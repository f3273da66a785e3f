"""--probe: strace's output read back, paths resolved in the image, and real traced runs.

The daemon tests use the perl-app sample's `store` program, which loads its database driver
(named by the DSN) and its output format (named by its configuration file) at run time: static
tracing warns and cannot keep them, the probe sees them, and the slim image passes --verify
only with --probe. A service probe runs the redis sample as its verify spec says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_service_run import leftovers

from slimmer.cli import main as slim_main
from slimmer.errors import VerifyFailed
from slimmer.probe.stracelog import Access, accesses
from slimmer.probe.touched import Touch, touched_paths
from slimmer.slim import SlimOptions, slim

import build_samples
from imagefactory import File, Symlink, make_layer, merged_rootfs
from requires import program

SAMPLE = "perl-app"
STORE = "/app/bin/store"

TRACE = r"""10    execve("/app/run", ["/app/run"], 0x7ffd /* 3 vars */) = 0
10    openat(AT_FDCWD</app>, "conf/app.conf", O_RDONLY) = 3</app/conf/app.conf>
10    openat(AT_FDCWD</app>, "/etc/missing", O_RDONLY) = -1 ENOENT (No such file or directory)
10    newfstatat(AT_FDCWD</app>, "/usr/lib/libx.so", {st_mode=S_IFREG|0644, st_size=5, ...}, 0) = 0
10    clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 11
11    readlink("/etc/alt", "/usr/bin/real", 4095) = 13
10    execve("/bin/tool", ["tool"], 0x7ffd /* 3 vars */ <unfinished ...>
11    openat(AT_FDCWD</>, "caf\303\251.txt", O_RDONLY <unfinished ...>
10    <... execve resumed>)             = 0
11    <... openat resumed>)             = 4</caf\303\251.txt>
10    openat(3</usr/lib>, "libx.so", O_RDONLY|O_NOFOLLOW) = 5</usr/lib/libx.so>
10    openat(AT_FDCWD</>, "/proc/self/maps", O_RDONLY) = 6
"""


def test_trace_lines_become_successful_accesses_with_their_program():
    assert accesses(TRACE) == [
        Access("/app/run", "exec", True, ""),  # an execve is made by the program before it
        Access("/app/conf/app.conf", "open", True, "/app/run"),
        Access("/usr/lib/libx.so", "stat", True, "/app/run"),
        Access("/etc/alt", "stat", False, "/app/run"),  # the child runs its parent's program
        Access("/bin/tool", "exec", True, "/app/run"),
        Access("/café.txt", "open", True, "/app/run"),
        Access("/usr/lib/libx.so", "open", False, "/bin/tool"),
        Access("/proc/self/maps", "open", True, "/bin/tool"),
    ]


def test_touched_paths_are_resolved_in_the_image(tmp_path):
    fs = merged_rootfs(tmp_path, make_layer([
        ("app/run", File(b"#!/bin/sh\n", mode=0o755)), ("app/conf/app.conf", b"x=1\n"),
        ("bin", Symlink("usr/bin")), ("usr/bin/tool", File(b"\0", mode=0o755)),
        ("usr/bin/real", File(b"\0", mode=0o755)), ("etc/alt", Symlink("/usr/bin/real")),
        ("usr/lib/libx.so", b"lib"), "data/", ("usr/bin/sh", File(b"\0", mode=0o755)),
    ], parents=True)).rootfs
    found = accesses(TRACE) + [Access("/data", "stat", True, "/app/run"), Access("/new/file", "open", True, "")]
    assert touched_paths(fs, found) == {
        "/app/run": Touch("exec", ""),
        "/app/conf/app.conf": Touch("open", "/app/run"),
        "/usr/lib/libx.so": Touch("open", "/bin/tool"),  # a stat, then an open: the open counts
        "/etc/alt": Touch("stat", "/app/run"),  # readlink does not follow it
        "/bin": Touch("symlink", ""),  # on the way to /app/run's #! interpreter,
        "/usr/bin/sh": Touch("exec", ""),  # which the kernel runs without a system call
        "/usr/bin/tool": Touch("exec", "/app/run"),
        "/data": Touch("stat", "/app/run"),
    }


def test_probe_without_a_daemon_is_a_clear_error(sample_archive, tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"}
    done = subprocess.run([sys.executable, "-m", "slimmer", "trace", f"docker-archive:{sample_archive(SAMPLE)}",
                           "--probe", "-q"], capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert done.stderr.startswith("slim: error: --probe runs the image and needs the Docker daemon: ")
    assert len(done.stderr.splitlines()) == 1


@pytest.fixture()
def clean_daemon(docker_client):
    """Asserts that the test left no container or volume of this process behind."""
    program("strace")  # the probe's tracer comes from the host's strace package
    assert leftovers(docker_client) == ([], [])
    yield docker_client
    assert leftovers(docker_client) == ([], [])


def test_trace_probe_lists_what_static_tracing_missed_and_kept_unused(clean_daemon, sample_image, capsys):
    assert slim_main(["trace", sample_image(SAMPLE), "--entrypoint", STORE, "--probe", "--json", "-q"]) == 0
    document = json.loads(capsys.readouterr().out)
    probe = document["probe"]
    assert probe["command"] == STORE and probe["outcome"] == "exit code 0"
    missed = {group["tracer"]: {f["path"] for f in group["files"]} for group in probe["missed_by_static"]}
    assert {"/usr/lib/x86_64-linux-gnu/perl5/5.36/DBD/SQLite.pm", "/app/lib/App/Report/Format/Text.pm",
            "/usr/lib/x86_64-linux-gnu/perl5/5.36/auto/DBD/SQLite/SQLite.so"} <= missed["perl"]
    unused = {group["rule"]: group for group in probe["kept_not_touched"]}
    assert unused["perl"]["bytes"] > 0 and all(f["reason"] for f in unused["perl"]["files"])
    files = {f["path"]: f for f in document["files"]}
    assert files["/usr/lib/x86_64-linux-gnu/perl5/5.36/DBD/SQLite.pm"]["reason"] == f"touched by probe: {STORE}"
    # What the probe-found driver needs is traced statically in turn: its library, through the XS object.
    assert "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6" in files
    assert any("require $format" in w["message"] for w in document["warnings"])


def test_plugin_named_by_configuration_passes_verify_only_with_probe(clean_daemon, sample_image, tmp_path):
    options = SlimOptions(tag="slimmer-probe/store:slim", entrypoint=STORE, verify=True)
    try:
        with pytest.raises(VerifyFailed):
            slim(sample_image(SAMPLE), options)
        result = slim(sample_image(SAMPLE), SlimOptions(**{**options.__dict__, "probe": True}))
        assert result.comparisons and all(c.same for c in result.comparisons)
        assert "Straße sign: 3" in result.comparisons[0].slim.stdout.decode()
        assert result.probe is not None and result.probe.missed["perl"]
    finally:
        clean_daemon.images.remove("slimmer-probe/store:slim", force=True)


@pytest.mark.slow
def test_service_probe_runs_the_verify_spec(clean_daemon, sample_image, capsys):
    spec = build_samples.RECIPES / "redis" / "slim-verify.toml"
    assert slim_main(["trace", sample_image("redis"), "--probe", "--verify-spec", str(spec), "--json", "-q"]) == 0
    probe = json.loads(capsys.readouterr().out)["probe"]
    assert probe["outcome"].startswith("service run: the image's HEALTHCHECK reports healthy; clients: ")
    assert "stopped with SIGTERM" in probe["outcome"]
    assert probe["touched"] > 20


def test_a_batch_probe_that_does_not_end_is_stopped_at_the_time_limit(clean_daemon, sample_image, capsys):
    assert slim_main(["trace", sample_image(SAMPLE), "--entrypoint", "/bin/sleep 600", "--probe",
                      "--verify-timeout", "3", "--json", "-q"]) == 0
    probe = json.loads(capsys.readouterr().out)["probe"]
    assert probe["outcome"] == "stopped at the time limit (3 s)"
    assert probe["touched"] >= 2  # sleep itself and its libraries, from the trace strace wrote on the stop signal
