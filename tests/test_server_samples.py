"""The server samples end to end: slimmed with default options, verified as services, measured
against the strace truth of a whole service run (fixtures/strace_truth.py).

Each sample's verify spec sits beside its Dockerfile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from slimmer.service.run import ServerOptions
from slimmer.service.spec import load_spec
from slimmer.service.verify import verify_service
from slimmer.slim import SlimOptions, slim

import build_samples
import strace_truth

pytestmark = pytest.mark.slow
SERVERS = ["nginx", "postgres", "redis", "py-flask"]
# Verified as a service, not yet measured against its strace truth, and why.
VERIFIED_ONLY = {
    "py-django": "Django imports an installed app's apps, models and admin modules by convention, and Debian's "
                 "pytz stats every zone to list them: neither is kept yet; the slim image keeps much of Django that "
                 "one run never touches (1.73x its truth)",
}
# slim bytes / bytes the service run touches (issue 8's bound; a Python app's, issue 9's)
MAX_OVER_TRUTH = {"py-flask": 1.3}
DEFAULT_MAX_OVER_TRUTH = 1.15

TAG = "slimmer-test/{name}:slim-" + str(os.getpid())  # runs in other checkouts share the daemon


@pytest.fixture(scope="module")
def slimmed(docker_client, sample_image, tmp_path_factory):
    """Each server sample slimmed once (default options) into the daemon, with its report."""
    results = {}
    for name in [*SERVERS, *VERIFIED_ONLY]:
        report = tmp_path_factory.mktemp(name) / "report.json"
        result = slim(sample_image(name), SlimOptions(tag=TAG.format(name=name), report=report))
        results[name] = (result, json.loads(report.read_text()))
    yield results
    for name in results:
        docker_client.images.remove(TAG.format(name=name), force=True)


@pytest.fixture(scope="module")
def truths():
    return {name: strace_truth.truth(name) for name in SERVERS}


def _spec(name: str):
    return load_spec(build_samples.RECIPES / name / build_samples.VERIFY_SPEC)


def test_strace_truth_of_a_service_run(truths):
    # The oracle itself: the service answered every client and stopped with exit code 0 under strace.
    for name, truth in truths.items():
        assert truth["exit_code"] == 0, name
        assert truth["clients"] and all(c["exit_code"] == 0 for c in truth["clients"]), name
    assert truths["postgres"]["clients"][0]["stdout"] == "4|68\n"
    touched = {name: {f["path"] for f in truth["files"]} for name, truth in truths.items()}
    assert "/usr/share/postgresql/15/postgres.bki" in touched["postgres"]  # initdb on first start
    assert "/usr/share/perl5/PgCommon.pm" in touched["postgres"]  # psql is Perl
    assert "/usr/bin/pg_isready" in touched["postgres"]  # the HEALTHCHECK, run under strace
    assert "/docker-entrypoint.d/20-envsubst-on-templates.sh" in touched["nginx"]
    assert "/usr/lib/nginx/modules/ngx_stream_module.so" in touched["nginx"]
    assert "/usr/bin/redis-check-aof" not in touched["redis"]
    dirs = {name: {d["path"] for d in truth["dirs"]} for name, truth in truths.items()}
    assert "/var/lib/nginx" in dirs["nginx"]  # nginx makes its temp directories in it
    assert "/var/lib/postgresql/data" in dirs["postgres"] and "/data" in dirs["redis"]  # the VOLUMEs


@pytest.mark.parametrize("name", [*SERVERS, *VERIFIED_ONLY])
def test_slim_server_passes_its_service_verification(slimmed, docker_client, sample_image, name):
    verification = verify_service(docker_client, sample_image(name), TAG.format(name=name), _spec(name),
                                  ServerOptions(), 60)
    assert all(c.same for c in verification.comparisons), [c.diff() for c in verification.comparisons]


@pytest.mark.parametrize("name", SERVERS)
def test_slim_server_keeps_every_file_and_directory_the_service_run_uses(slimmed, truths, name):
    kept = {f["path"] for f in slimmed[name][1]["files"]}
    missing = sorted({f["path"] for f in truths[name]["files"]} - kept)
    assert not missing, f"touched at run time but not kept: {missing}"
    present = kept | {parent for path in kept for parent in _parents(path)}
    missing_dirs = sorted({d["path"] for d in truths[name]["dirs"]} - present)
    assert not missing_dirs, f"directories used at run time but not kept: {missing_dirs}"


def _parents(path: str) -> list[str]:
    parts = path.split("/")[1:-1]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


@pytest.mark.parametrize("name", SERVERS)
def test_slim_server_is_close_to_what_the_service_touches(slimmed, truths, name):
    result, _ = slimmed[name]
    ratio = result.size_after / truths[name]["total_bytes"]
    assert ratio <= MAX_OVER_TRUTH.get(name, DEFAULT_MAX_OVER_TRUTH), f"{name}: slim {result.size_after} B is {ratio:.2f}x the " \
                                    f"{truths[name]['total_bytes']} B touched"


def test_excluding_a_needed_file_fails_with_a_readable_diff(sample_image, tmp_path):
    spec = build_samples.RECIPES / "nginx" / build_samples.VERIFY_SPEC
    cmd = [sys.executable, "-m", "slimmer", sample_image("nginx"), "--quiet", "--verify-spec", str(spec),
           "--output", f"docker-archive:{tmp_path / 'broken.tar'}", "--exclude", "/var/www/app/api/items.json"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("slim: error: --verify: the slim image behaves differently for 2 of 7 command(s)"), last
    assert "-200 application/json\n+404 text/html" in proc.stderr
    assert "exit: original exit code 0, slim exit code 22" in proc.stderr
    assert '-{"items": [{"id": 1, "name": "apple"}, {"id": 2, "name": "drill"}], "ok": true}' in proc.stderr
    assert "slim server log" in proc.stderr and 'open() "/var/www/app/api/items.json" failed' in proc.stderr


def test_database_without_its_password_is_not_ready_never_agreement(sample_image, tmp_path):
    cmd = [sys.executable, "-m", "slimmer", sample_image("postgres"), "--quiet",
           "--output", f"docker-archive:{tmp_path / 'pg.tar'}",
           "--verify-ready", "pg_isready -h 127.0.0.1", "--verify-client", "psql -h 127.0.0.1 -c 'select 1'"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "slim: error: --verify: server did not become ready with the original image: the server exited with code 1")
    assert "superuser password is not specified" in proc.stderr
    assert "verified" not in proc.stdout


def test_cli_service_verification_of_a_slim_redis(sample_image, tmp_path):
    # The whole CLI path with default options: slim, both service runs, every comparison printed.
    spec = build_samples.RECIPES / "redis" / build_samples.VERIFY_SPEC
    cmd = [sys.executable, "-m", "slimmer", sample_image("redis"), "--quiet", "--verify-spec", str(spec),
           "--output", f"docker-archive:{tmp_path / 'redis.tar'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    verified = [line for line in proc.stdout.splitlines() if line.startswith("verified: ")]
    assert len(verified) == len(load_spec(spec).clients) + 1
    assert verified[1] == "verified: redis-cli -h 127.0.0.1 get greeting: same exit code (exit code 0) and stdout"
    assert verified[-1] == "verified: server stopped with SIGTERM: same exit code (exit code 0)"
