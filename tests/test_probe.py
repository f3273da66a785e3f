"""--probe: strace's output read back, paths resolved in the image, and real traced runs.

The daemon tests use the perl-app sample's `store` program, which loads its database driver
(named by the DSN) and its output format (named by its configuration file) at run time: static
tracing warns and cannot keep them, the probe sees them, and the slim image passes --verify
only with --probe. A service probe runs the redis sample as its verify spec says.
"""

from __future__ import annotations

import json
import os
import posixpath
import signal
import subprocess
import sys
import tarfile
from dataclasses import replace

import pytest
from test_service_run import leftovers

from slimmer.cli import main as slim_main
from slimmer.errors import VerifyFailed
from slimmer.probe.differences import differences
from slimmer.probe.run import run_probe, signal_number
from slimmer.probe.stracelog import Access, accesses
from slimmer.probe.touched import Touch, touched_paths
from slimmer.service.spec import load_spec
from slimmer.slim import SlimOptions, slim
from slimmer.trace.closure import KeepSet, Reason, TraceContext
from slimmer.trace.dpkg.database import DpkgDatabase
from slimmer.trace.roots import run_spec
from slimmer.trace.session import make_tracers

import build_samples
import strace_truth
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


# A server making its directories: nginx's temp directory, `mkdir -p` walking with relative names
# (strace -y annotates descriptors, not the working directory these names start from), `sed -i`'s
# rename, a symlink made, a pid file written through /var/run -> /run, a log symlinked to
# /dev/stderr, a descriptor-only call, a removal relative to a directory descriptor.
CHANGES = r"""20    execve("/usr/sbin/nginx", ["nginx"], 0x7ffd /* 3 vars */) = 0
20    mkdir("/var/lib/nginx/body", 0700) = 0
20    chown("/var/lib/nginx/body", 33, -1) = 0
20    openat(AT_FDCWD</>, "/var/run/nginx.pid", O_RDWR|O_CREAT|O_TRUNC, 0644) = 4</run/nginx.pid>
20    openat(AT_FDCWD</>, "/var/log/nginx/error.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 5</dev/pts/0>
20    clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 21
21    chdir("/etc") = 0
21    mkdir("nginx", 0777) = -1 EEXIST (File exists)
21    chdir("nginx") = 0
21    mkdir("conf.d", 0777) = 0
21    getcwd("/etc/nginx", 4096) = 11
21    renameat2(AT_FDCWD</etc/nginx>, "sedX1", AT_FDCWD</etc/nginx>, "nginx.conf", RENAME_NOREPLACE) = 0
21    symlinkat("/dev/stdout", AT_FDCWD</etc/nginx>, "access.log") = 0
21    fchownat(3</etc/nginx/conf.d>, "", 0, 0, AT_EMPTY_PATH) = 0
20    unlinkat(7</srv/cache>, "old/entry", 0) = 0
20    unlink("/srv/data/stale.lock") = 0
"""
NGINX = "/usr/sbin/nginx"


def test_calls_that_change_paths_are_accesses_relative_to_the_working_directory():
    assert accesses(CHANGES, "/") == [
        Access(NGINX, "exec", True, ""),
        Access("/var/lib/nginx/body", "change", False, NGINX),  # mkdir makes the name itself
        Access("/var/lib/nginx/body", "change", True, NGINX),
        Access("/var/run/nginx.pid", "open", True, NGINX),
        Access("/var/log/nginx/error.log", "open", True, NGINX),
        Access("/etc", "enter", True, NGINX),  # the child inherits the working directory, then moves
        Access("/etc/nginx", "enter", True, NGINX),
        Access("/etc/nginx/conf.d", "change", False, NGINX),
        Access("/etc/nginx/sedX1", "change", False, NGINX),  # both names of a rename
        Access("/etc/nginx/nginx.conf", "change", False, NGINX),
        Access("/etc/nginx/access.log", "change", False, NGINX),  # a symlink's name, not its target
        Access("/srv/cache/old/entry", "change", False, NGINX),
        Access("/srv/data/stale.lock", "change", False, NGINX),
    ]
    # Without a chdir in the trace, relative names start where the container starts.
    assert accesses('5    mkdir("cache", 0755) = 0\n', "/app") == [Access("/app/cache", "change", False, "")]


def test_the_run_needs_the_directories_above_what_it_creates_and_removes(tmp_path):
    fs = merged_rootfs(tmp_path, make_layer([
        (NGINX.lstrip("/"), File(b"\0", mode=0o755)), "var/lib/nginx/", ("var/run", Symlink("/run")), "run/",
        ("var/log/nginx/error.log", Symlink("/dev/stderr")), ("dev/stderr", Symlink("/proc/self/fd/2")), "proc/",
        ("etc/nginx/nginx.conf", b"events {}\n"), "srv/cache/", ("srv/data/stale.lock", b""),
    ], parents=True)).rootfs
    assert touched_paths(fs, accesses(CHANGES, "/")) == {
        NGINX: Touch("exec", ""),
        "/var/lib/nginx": Touch("parent", NGINX),  # nginx makes body/ in it
        "/var/run": Touch("symlink", NGINX),
        "/run": Touch("parent", NGINX),  # the pid file is written through the symlink
        "/var/log/nginx/error.log": Touch("symlink", NGINX),  # to /dev/stderr: Docker's, not the image's
        "/etc": Touch("enter", NGINX),
        "/etc/nginx": Touch("enter", NGINX),  # entered, and the parent of conf.d, sedX1 and access.log
        "/etc/nginx/nginx.conf": Touch("change", NGINX),  # replaced by the rename: it existed before
        "/srv/cache": Touch("parent", NGINX),  # the nearest directory the image has above old/entry
        "/srv/data/stale.lock": Touch("change", NGINX),
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
    assert probe["outcome"].startswith("service run: the image's HEALTHCHECK reports healthy; "
                                       "HEALTHCHECK under strace: exit code 0; clients: ")
    assert "stopped with SIGTERM" in probe["outcome"]
    assert probe["touched"] > 20


@pytest.mark.slow
def test_a_service_probe_traces_the_healthcheck_and_the_shutdown_inside_the_server(clean_daemon, sample_image,
                                                                                    tmp_path):
    # Docker runs the HEALTHCHECK inside the server, so the slim image must hold what it uses; the
    # clients and the ready check run in containers of their own, which the probe does not trace.
    # strace (PID 1) blocks the stop signal: it goes to the server, which shuts down traced.
    image = sample_image("redis")
    run_as = run_spec({"config": clean_daemon.images.get(image).attrs["Config"]})
    assert run_as.healthcheck == ["/bin/sh", "-c", "redis-cli ping | grep -q PONG"]
    spec = replace(load_spec(build_samples.RECIPES / "redis" / build_samples.VERIFY_SPEC),
                   ready=("redis-cli", "-h", "127.0.0.1", "ping"), clients=())  # no clients: only the check counts
    run = run_probe(image, run_as.argv, spec, tmp_path, 60, run_as.healthcheck)
    assert "; HEALTHCHECK under strace: exit code 0; " in run.outcome
    assert run.outcome.endswith("; stopped with SIGTERM: exit code 0")  # not killed at the time limit
    server, health = ({(a.path, a.how, a.program) for a in accesses(trace, "/data")} for trace in run.traces)
    assert ("/bin/sh", "exec", "") in health
    assert ("/usr/bin/redis-cli", "exec", "/bin/sh") in health
    assert not [access for access in server if access[0] == "/usr/bin/redis-cli"]
    assert ("/data/dump.rdb", "change", "/usr/bin/redis-server") in server  # its last snapshot, renamed in place


def test_signals_as_docker_names_them():
    assert [signal_number(name) for name in ("SIGTERM", "quit", "9", "SIGRTMIN+3", "RTMAX-1", "SIGNOPE")] == \
        [signal.SIGTERM, signal.SIGQUIT, 9, signal.SIGRTMIN + 3, signal.SIGRTMAX - 1, None]


def test_a_batch_probe_that_does_not_end_is_stopped_at_the_time_limit(clean_daemon, sample_image, capsys):
    assert slim_main(["trace", sample_image(SAMPLE), "--entrypoint", "/bin/sleep 600", "--probe",
                      "--verify-timeout", "3", "--json", "-q"]) == 0
    probe = json.loads(capsys.readouterr().out)["probe"]
    assert probe["outcome"] == "stopped at the time limit (3 s)"
    assert probe["touched"] >= 2  # sleep itself and its libraries, from the trace strace wrote on the stop signal


# A directory each server's run needs and cannot do without, kept as it is, without its contents.
SERVER_DIRECTORIES = {
    "nginx": "/var/lib/nginx",  # nginx makes its temp directories in it
    "redis": "/data",  # the VOLUME, where it writes its snapshot at shutdown
    "postgres": "/var/lib/postgresql/data",  # the VOLUME, initialised on first start (owner postgres)
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SERVER_DIRECTORIES))
def test_server_probe_keeps_every_file_and_directory_its_run_uses_and_passes_its_service_verification(
        clean_daemon, sample_image, tmp_path, name):
    spec = load_spec(build_samples.RECIPES / name / build_samples.VERIFY_SPEC)
    output = tmp_path / f"{name}.tar"
    report = tmp_path / "report.json"
    result = slim(sample_image(name), SlimOptions(output=f"docker-archive:{output}", verify=True, verify_spec=spec,
                                                  probe=True, report=report))
    assert len(result.comparisons) == len(spec.clients) + 1 and all(c.same for c in result.comparisons)
    document = json.loads(report.read_text())
    assert document["probe"]["outcome"].endswith(": exit code 0")  # stopped by its STOPSIGNAL, traced
    layer = _slim_layer(output)
    directory = SERVER_DIRECTORIES[name]
    assert layer[directory].isdir() and not [path for path in layer if path.startswith(directory + "/")]
    # Against the oracle: every file and directory strace sees the service run use is in the slim
    # image, each directory with its owner and mode as in the original; and not much more.
    truth = strace_truth.truth(name)
    dirs = [d["path"] for d in truth["dirs"]]
    assert not [d for d in dirs if d not in layer]
    kept = {f["path"] for f in document["files"]}
    assert not [f["path"] for f in truth["files"] if f["path"] not in kept]
    stat = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "stat", sample_image(name),
                           "-c", "%n %u %g %a", *dirs], capture_output=True, text=True, check=True).stdout
    assert {f"{d} {layer[d].uid} {layer[d].gid} {layer[d].mode:o}" for d in dirs} == set(stat.splitlines())
    assert result.size_after <= 1.15 * truth["total_bytes"]


def test_the_differences_list_the_directories_the_run_needs(tmp_path):
    fs = merged_rootfs(tmp_path, make_layer([
        (NGINX.lstrip("/"), File(b"\0", mode=0o755)), "var/lib/nginx/",
        ("var/run", Symlink("/run")), "run/", ("etc/nginx/nginx.conf", b"events {}\n"), "srv/cache/",
        ("entrypoint.sh", File(b"#!/bin/sh\nfind /hooks.d\n", mode=0o755)), ("bin/sh", File(b"\0", mode=0o755)),
        "hooks.d/", ("var/lib/dpkg/status", b"Package: nginx-common\nStatus: install ok installed\nVersion: 1\n"),
        ("var/lib/dpkg/info/nginx-common.list", b"/.\n/var\n/var/lib\n/var/lib/nginx\n"),
    ], parents=True)).rootfs
    ctx = TraceContext(fs=fs)
    static = KeepSet(reasons={NGINX: Reason("ENTRYPOINT/CMD", None), "/etc/nginx/nginx.conf": Reason("named", NGINX)},
                     rules={NGINX: "root", "/etc/nginx/nginx.conf": "data"})
    touched = {**touched_paths(fs, accesses(CHANGES, "/")), "/hooks.d": Touch("stat", "/entrypoint.sh")}
    found = differences(static, ctx, make_tracers(ctx)[0], DpkgDatabase(fs), touched, "nginx", "exit code 0")
    assert [f["path"] for f in found.missed["shell"]] == ["/hooks.d"]  # a script's misses are its interpreter's
    missed = {f["path"]: f for files in found.missed.values() for f in files}
    assert missed["/var/lib/nginx"] == {"path": "/var/lib/nginx", "type": "dir", "size": 0, "how": "parent",
                                        "program": NGINX, "package": "nginx-common"}
    assert missed["/run"]["how"] == "parent" and missed["/srv/cache"]["how"] == "parent"
    assert missed["/run"]["package"] is None
    assert "/etc/nginx" not in missed  # a statically kept file is in it: it is in the slim image anyway
    assert "    /var/lib/nginx/  (a path created or removed in it by /usr/sbin/nginx; package nginx-common)" \
        in found.render().splitlines()


def _slim_layer(archive) -> dict[str, tarfile.TarInfo]:
    """The entries of a slim docker-archive's one layer, by absolute path."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        (layer_name,) = manifest[0]["Layers"]
        with tarfile.open(fileobj=outer.extractfile(layer_name)) as layer:
            return {posixpath.normpath("/" + member.name): member for member in layer}
