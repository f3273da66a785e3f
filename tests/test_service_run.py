"""Service runs against the real daemon: readiness (ready command, HEALTHCHECK, TCP port), clients,
the stop, the comparison, and the promise that nothing is left behind whatever happens.

These compare fat server images with themselves or with a copy missing one file, so they test the
verification machinery independently of what the tracers keep (tests/test_server_samples.py
slims the samples end to end).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slimmer.errors import VerifyFailed
from slimmer.pack.verify import run_container
from slimmer.service.run import ServerOptions, ServiceRun
from slimmer.service.scope import PID_LABEL, RUN_LABEL, open_scope
from slimmer.service.spec import VerifySpec, load_spec
from slimmer.service.verify import verify_service

import build_samples

pytestmark = pytest.mark.slow
BROKEN_NGINX = f"slimmer-servers/nginx-without-items:test-{os.getpid()}"  # runs in other checkouts share the daemon


def spec_of(name: str) -> VerifySpec:
    return load_spec(build_samples.RECIPES / name / "slim-verify.toml")


def leftovers(client, pid: int = os.getpid()) -> tuple[list[str], list[str]]:
    """Containers and volumes a slim process left in the daemon (by the labels every one carries)."""
    filters = {"label": [RUN_LABEL, f"{PID_LABEL}={pid}"]}
    return ([name for c in client.api.containers(all=True, filters=filters) for name in c["Names"]],
            [v["Name"] for v in client.api.volumes(filters=filters)["Volumes"] or []])


@pytest.fixture()
def clean_daemon(docker_client):
    """Asserts that the test left no container or volume of this process behind."""
    assert leftovers(docker_client) == ([], [])
    yield docker_client
    assert leftovers(docker_client) == ([], [])


@pytest.fixture(scope="module")
def broken_nginx(docker_client, sample_image):
    """The nginx sample without one file its clients ask for."""
    base = sample_image("nginx")
    subprocess.run(["docker", "build", "--quiet", "--tag", BROKEN_NGINX, "-"], check=True, capture_output=True,
                   input=f"FROM {base}\nRUN rm /var/www/app/api/items.json\n".encode())
    yield BROKEN_NGINX
    docker_client.images.remove(BROKEN_NGINX, force=True)


@pytest.mark.parametrize("name,how", [
    ("redis", "the image's HEALTHCHECK reports healthy"),
    ("nginx", "TCP port 80 is listening"),
])
def test_service_run_readiness_clients_and_stop(clean_daemon, sample_image, name, how):
    image = sample_image(name)
    spec = spec_of(name)
    with open_scope(clean_daemon) as scope:
        outcome = ServiceRun(scope, image, image, spec, ServerOptions(), timeout=60).exercise()
        labels = clean_daemon.containers.get(scope.name("server")).labels
        assert labels[RUN_LABEL] == scope.run_id and labels[PID_LABEL] == str(os.getpid())
    assert outcome.readiness.ready and outcome.readiness.detail == how
    assert [command for command, _ in outcome.clients] == [shlex.join(argv) for argv in spec.clients]
    assert all(result.exit_code == 0 for _, result in outcome.clients)
    assert outcome.stopped.exit_code == 0 and outcome.stop_signal == ("SIGQUIT" if name == "nginx" else "SIGTERM")
    assert outcome.log  # the server's own output, for failures


def test_redis_answers_its_clients(clean_daemon, sample_image):
    image = sample_image("redis")
    result = verify_service(clean_daemon, image, image, spec_of("redis"), ServerOptions(), 60)
    outputs = [c.original.stdout.decode() for c in result.comparisons]
    assert outputs[:4] == ["OK\n", "hello from redis\n", "3\n", "apple\npear\nplum\n"]
    assert outputs[6].startswith("NOAUTH")  # REDIS_PASSWORD reached the server's hook
    assert all(c.same for c in result.comparisons)
    assert result.comparisons[-1].command == "server stopped with SIGTERM"
    assert result.comparisons[-1].summary() == "same exit code (exit code 0)"


def test_ready_command_of_the_spec_and_a_database_that_initialises_itself(clean_daemon, sample_image):
    image = sample_image("postgres")
    result = verify_service(clean_daemon, image, image, spec_of("postgres"), ServerOptions(), 60)
    by_command = {c.command: c for c in result.comparisons}
    assert all(c.same for c in result.comparisons)
    first = next(iter(by_command.values()))
    assert first.original.stdout == b"4|68\n"  # the init script ran through psql on first start
    assert by_command["server stopped with SIGINT"].original.exit_code == 0


def test_a_missing_file_is_a_readable_difference(clean_daemon, sample_image, broken_nginx):
    image = sample_image("nginx")
    result = verify_service(clean_daemon, image, broken_nginx, spec_of("nginx"), ServerOptions(), 60)
    failed = [c for c in result.comparisons if not c.same]
    assert [c.command for c in failed] == [
        "curl -sS -o /dev/null -w '%{http_code} %{content_type}\\n' http://127.0.0.1/api/items.json",
        "curl -fsS http://127.0.0.1/api/items.json"]
    assert failed[0].diff().splitlines()[-2:] == ["-200 application/json", "+404 text/html"]
    diff = failed[1].diff()
    assert "exit: original exit code 0, slim exit code 22" in diff
    assert '-{"items": [{"id": 1, "name": "apple"}, {"id": 2, "name": "drill"}], "ok": true}' in diff
    assert "slim stderr:" in diff and "404" in diff


def test_database_without_its_password_never_becomes_ready(clean_daemon, sample_image):
    image = sample_image("postgres")
    spec = VerifySpec(ready=("pg_isready", "-h", "127.0.0.1"), ready_timeout=60, clients=spec_of("postgres").clients)
    with pytest.raises(VerifyFailed) as failure:
        verify_service(clean_daemon, image, image, spec, ServerOptions(), 60)
    # noticed when the server exits, not at the ready timeout
    assert str(failure.value).startswith("--verify: server did not become ready with the original image: "
                                         "the server exited with code 1 before it was ready")
    assert "superuser password is not specified" in failure.value.details


def test_ready_check_that_never_passes_stops_at_ready_timeout(clean_daemon, sample_image):
    image = sample_image("redis")
    with pytest.raises(VerifyFailed, match=r"the ready check `false` did not pass within 3 s"):
        verify_service(clean_daemon, image, image, VerifySpec(ready=("false",), ready_timeout=3), ServerOptions(), 60)


def test_a_hanging_client_is_stopped_and_removed(clean_daemon, sample_image):
    image = sample_image("redis")
    spec = VerifySpec(clients=(("redis-cli", "-h", "127.0.0.1", "ping"), ("sleep", "600")))
    with pytest.raises(VerifyFailed, match=r"client `sleep 600` did not finish within 3 s with the original image"):
        verify_service(clean_daemon, image, image, spec, ServerOptions(), 3)


def _wait_for(predicate, what: str, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("signum,code,message", [
    (signal.SIGINT, 130, "slim: interrupted"),
    (signal.SIGTERM, 143, "slim: terminated"),
])
def test_interrupted_while_a_server_runs_leaves_nothing(docker_client, sample_image, tmp_path, signum, code, message):
    image = sample_image("redis")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cmd = [sys.executable, "-m", "slimmer", image, "--quiet", "--output", f"docker-archive:{tmp_path / 'out.tar'}",
           "--verify-ready", "false", "--verify-client", "redis-cli -h 127.0.0.1 ping"]
    proc = subprocess.Popen(cmd, env={**os.environ, "TMPDIR": str(tmpdir)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: leftovers(docker_client, proc.pid)[0], "the server container")
        assert leftovers(docker_client, proc.pid)[1], "the image's VOLUME gets a labelled volume"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code and err.strip().splitlines()[-1] == message
    assert leftovers(docker_client, proc.pid) == ([], [])
    assert list(tmpdir.iterdir()) == []  # the work directory (with its spooled export) is gone
    assert not [t for i in docker_client.images.list(name="slimmer-verify-slim") for t in i.tags]


def test_sigterm_while_analysing_removes_the_work_directory(sample_image, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cmd = [sys.executable, "-m", "slimmer", sample_image("postgres"), "--quiet",
           "--output", f"docker-archive:{tmp_path / 'out.tar'}"]
    proc = subprocess.Popen(cmd, env={**os.environ, "TMPDIR": str(tmpdir)}, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: any(p.name.startswith("slimmer-") for p in tmpdir.iterdir()), "the work directory", 60)
        time.sleep(0.5)  # inside the export of a 450 MB image
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143 and err.strip().splitlines()[-1] == "slim: terminated"
    assert list(tmpdir.iterdir()) == []
    assert not Path(tmp_path / "out.tar").exists()


def test_batch_runs_get_the_env_are_labelled_and_removed_too(clean_daemon, sample_image):
    image = sample_image("redis")
    said = run_container(clean_daemon, image, ["-c", 'echo "$GREETING"'], ["sh"], 30, env=("GREETING=hi",))
    assert (said.exit_code, said.stdout) == (0, b"hi\n")
    hung = run_container(clean_daemon, image, ["600"], ["sleep"], 2)
    assert hung.exit_code is None and hung.describe_exit() == "stopped at the time limit"
