"""Differential tests of data chosen by name against the real runtime: each program of the
fixtures is slimmed with its own entrypoint and run beside the fat image (`--verify`, with
`--verify-cmd` for names given at run time); the slim image must print the same.

- iconv-pairs: one generated C program per charset pair, each iconv_open-ing every alias of
  its two charsets (29 charsets: UTF-16/32 and their byte orders, UTF-7, UCS-2/4, EBCDIC, CJK
  with a direct module between two of them, the builtins). The fat run must convert them all.
- tz-zones: shell scripts and static Go programs naming zones literally, by loop words, from a
  list file, and from their arguments (then the whole tree is kept, without posix/ and right/).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from slimmer.slim import SlimOptions, SlimResult, slim

PAIRS = 16  # lines of fixtures/samples/iconv-pairs/pairs.txt
GCONV = "/usr/lib/x86_64-linux-gnu/gconv/"
ZONEINFO = "/usr/share/zoneinfo/"


def slimmed(image: str, tag: str, report: Path, entrypoint: str, cmd: str | None = None,
            verify_cmds: tuple[str, ...] = ()) -> tuple[SlimResult, dict]:
    result = slim(image, SlimOptions(tag=tag, entrypoint=entrypoint, cmd=cmd, verify=True, verify_cmds=verify_cmds,
                                     report=report))
    return result, json.loads(report.read_text())


@pytest.fixture(scope="module")
def cleanup(docker_client):
    tags: list[str] = []
    yield tags
    for tag in tags:
        docker_client.images.remove(tag, force=True)


@pytest.mark.slow
def test_every_charset_pair_converts_the_same_slimmed(sample_image, docker_client, cleanup, tmp_path):
    image = sample_image("iconv-pairs")

    def one(number: int) -> tuple[int, SlimResult, dict]:
        tag = f"slimmer-test/named-data-iconv-{number:02d}:slim-{os.getpid()}"
        cleanup.append(tag)
        result, report = slimmed(image, tag, tmp_path / f"{number}.json", f"/usr/local/bin/iconv-pair-{number:02d}")
        return number, result, report

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(one, range(1, PAIRS + 1)))
    for number, result, report in runs:
        [comparison] = result.comparisons
        assert comparison.same, f"iconv-pair-{number:02d}:\n{comparison.diff()}"
        assert comparison.original.stdout.rstrip().endswith(b" 0 failures"), comparison.original.stdout[-300:]
        modules = [f["path"] for f in report["files"] if f["path"].startswith(GCONV) and f["type"] == "file"
                   and not f["path"].rsplit("/", 1)[1].startswith("lib") and f["path"].endswith(".so")]
        # the two charsets' modules, and a module converting one to the other directly
        assert len(modules) <= 3, (number, modules)
        assert all(f["rule"] == "gconv" for f in report["files"] if f["path"] in modules)


ZONE_CASES = [
    # (entrypoint, cmd, --verify-cmd, zones that must be kept, whole tree)
    ("/usr/local/bin/zones-literal.sh", None, (), {"Asia/Kolkata", "America/New_York", "Australia/Adelaide",
                                                   "Europe/Vienna"}, False),
    ("/usr/local/bin/zones-loop.sh", None, (), {"Africa/Nairobi", "Asia/Kathmandu", "Asia/Ho_Chi_Minh",
                                                "Europe/Kyiv"}, False),
    ("/usr/local/bin/zones-input.sh", "Asia/Kolkata", ("Pacific/Auckland Europe/Berlin",), set(), True),
    ("/usr/local/bin/zones-go-literal", None, (), {"Asia/Tokyo", "America/Los_Angeles", "Europe/Istanbul"}, False),
    ("/usr/local/bin/zones-go-loop", None, (), {"Europe/Madrid", "America/Argentina/Buenos_Aires",
                                                "Pacific/Chatham"}, False),
    ("/usr/local/bin/zones-go-input", "Asia/Kolkata", ("Pacific/Auckland America/Noronha",), set(), True),
]


@pytest.mark.slow
def test_time_zones_by_literal_loop_list_and_input(sample_image, cleanup, tmp_path):
    image = sample_image("tz-zones")

    def one(case: tuple) -> tuple[tuple, SlimResult, dict]:
        entrypoint = case[0]
        tag = f"slimmer-test/named-data-{entrypoint.rsplit('/', 1)[1].replace('.', '-')}:slim-{os.getpid()}"
        cleanup.append(tag)
        result, report = slimmed(image, tag, tmp_path / f"{len(cleanup)}.json", entrypoint, case[1], case[2])
        return case, result, report

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(one, ZONE_CASES))
    for (entrypoint, _cmd, _verify, wanted, whole), result, report in runs:
        assert result.comparisons and all(c.same for c in result.comparisons), \
            f"{entrypoint}:\n" + "\n".join(c.diff() for c in result.comparisons if not c.same)
        zones = {f["path"][len(ZONEINFO):] for f in report["files"]
                 if f["path"].startswith(ZONEINFO) and f["type"] == "file"}
        assert wanted <= zones, (entrypoint, sorted(wanted - zones))
        copies = {z for z in zones if z.startswith(("posix/", "right/"))}
        assert not copies, (entrypoint, sorted(copies)[:5])
        if whole:
            assert len(zones) > 400, (entrypoint, len(zones))
            reasons = {f["reason"] for f in report["files"] if f["path"] == ZONEINFO + "Pacific/Auckland"}
            assert any("the names come from its input" in r for r in reasons), reasons
        else:
            assert len(zones) < 20, (entrypoint, sorted(zones))
