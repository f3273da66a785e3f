"""The vertical slice on real images: slim the C and shell samples, run both, compare.

Oracles: `docker run` of the fat and the slim image (same exit code and stdout), and `strace -f`
of the fat app (fixtures/strace_truth.py): the bytes the app really touches.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from slimmer.cli import main as slim_main
from slimmer.slim import SlimOptions, slim

import strace_truth

SAMPLES = ["c-app", "sh-app", "hooks-app", "curl-app", "iconv-pairs", "tz-zones"]
# fat / slim: libcurl's own closure is a seventh of its image
MIN_RATIO = {"c-app": 10.0, "sh-app": 10.0, "hooks-app": 10.0, "curl-app": 5.0, "iconv-pairs": 10.0,
             "tz-zones": 10.0}
MAX_OVER_TRUTH = 1.15  # slim / bytes the app touches
TAG = "slimmer-test/{name}:slim-" + str(os.getpid())  # runs in other checkouts share the daemon


@pytest.fixture(scope="module")
def slimmed(docker_client, sample_image, tmp_path_factory):
    """Each sample slimmed once into the daemon with --verify and a report."""
    results = {}
    for name in SAMPLES:
        report = tmp_path_factory.mktemp(name) / "report.json"
        result = slim(sample_image(name), SlimOptions(tag=TAG.format(name=name), verify=True, report=report))
        results[name] = (result, json.loads(report.read_text()))
    yield results
    for name in SAMPLES:
        docker_client.images.remove(TAG.format(name=name), force=True)


@pytest.mark.parametrize("name", SAMPLES)
def test_slim_image_is_ten_times_smaller_and_behaves_the_same(slimmed, docker_client, name):
    result, report = slimmed[name]
    assert result.comparisons and all(c.same for c in result.comparisons)
    assert result.comparisons[0].original.exit_code == 0 and result.comparisons[0].slim.stdout
    fat = docker_client.images.get(f"slimmer-sample/{name}:latest").attrs["Size"]
    slim_size = docker_client.images.get(TAG.format(name=name)).attrs["Size"]
    assert slim_size == result.size_after == report["sizes"]["after"]
    assert fat / slim_size >= MIN_RATIO[name], f"{name}: {fat} -> {slim_size} is only {fat / slim_size:.1f}x"


@pytest.mark.parametrize("name", SAMPLES)
def test_slim_image_is_close_to_what_the_app_touches(slimmed, name):
    result, report = slimmed[name]
    truth = strace_truth.truth(name)
    touched = {f["path"] for f in truth["files"]}
    kept = {f["path"] for f in report["files"]}
    assert touched <= kept, f"touched at run time but not kept: {sorted(touched - kept)}"
    ratio = result.size_after / truth["total_bytes"]
    over = strace_truth.untouched_by_rule(report["files"], truth)
    listing = "\n".join(f"  {rule}: {sum(r['size'] for r in records)} B, e.g. {records[0]['path']}"
                        for rule, records in over.items())
    assert ratio <= MAX_OVER_TRUTH, (f"{name}: slim {result.size_after} B is {ratio:.2f}x the {truth['total_bytes']} B "
                                     f"touched; kept and never touched, by rule:\n{listing}")


def test_report_explains_every_kept_file(slimmed):
    _, report = slimmed["sh-app"]
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path["/usr/bin/mawk"]["reason"].startswith("run at line")
    assert by_path["/usr/bin/mawk"]["chain"] == ["/usr/local/bin/report.sh"]
    assert by_path["/etc/alternatives/awk"]["reason"] == "symlink on the way to /usr/bin/awk"
    assert by_path["/usr/local/bin/report.sh"]["reason"] == "ENTRYPOINT/CMD" and by_path["/usr/local/bin/report.sh"]["via"] is None
    assert all(f["reason"] for f in report["files"])
    assert report["sizes"]["before"] > report["sizes"]["after"] > 0
    assert report["warnings"] == []


def test_slimming_is_deterministic_across_runs_and_transports(sample_image, sample_archive, tmp_path):
    from_daemon = tmp_path / "a.tar"
    again = tmp_path / "b.tar"
    from_archive = tmp_path / "c.tar"
    for source, out in ((sample_image("c-app"), from_daemon), (sample_image("c-app"), again),
                        (f"docker-archive:{sample_archive('c-app')}", from_archive)):
        slim(source, SlimOptions(output=f"docker-archive:{out}"))
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (from_daemon, again, from_archive)}
    assert len(digests) == 1


def test_default_output_name_and_cli_summary(sample_image, docker_client, capsys):
    assert slim_main([sample_image("c-app"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "slimmer-sample/c-app.slim:latest" in out and "smaller" in out
    image = docker_client.images.get("slimmer-sample/c-app.slim:latest")
    assert image.labels["org.slimmer.source-image"] == docker_client.images.get(sample_image("c-app")).id
    fat = docker_client.images.get(sample_image("c-app")).attrs["Config"]
    for key in ("Entrypoint", "Cmd", "Env", "User", "WorkingDir"):
        assert image.attrs["Config"][key] == fat[key], key


def test_verify_reports_a_difference_with_a_diff(sample_image, tmp_path):
    # Excluding the data file the script reads makes the slim image misbehave: --verify must say so.
    cmd = [sys.executable, "-m", "slimmer", sample_image("sh-app"), "--quiet", "--verify",
           "--output", f"docker-archive:{tmp_path / 'broken.tar'}", "--exclude", "/usr/local/share/report/*"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "-rows: 6" in proc.stderr and "+++ slim stdout" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("slim: error: --verify: the slim image behaves differently")
