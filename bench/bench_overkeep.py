#!/usr/bin/env python3
"""Over-keeping: per sample, what the slim image keeps that the app never touches (strace),
summed by the rule that kept it, with the largest files of each rule.

    .venv/bin/python bench/bench_overkeep.py                 # the samples with a strace truth
    .venv/bin/python bench/bench_overkeep.py --only curl-app --files 10

Each sample is slimmed from its cached docker-archive into a temporary docker-archive (no
daemon load), its report read, and compared with `strace_truth.truth(name)`. The first table
is the one the README shows (slim/truth must stay at most 1.15, tests/test_slim_samples.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_python_samples import SAMPLES as PYTHON_COMMANDS  # a CLI's subcommands: its truth is their union

from slimmer.slim import SlimOptions, slim

import build_samples
import strace_truth

SAMPLES = ["c-app", "sh-app", "hooks-app", "curl-app", "iconv-pairs", "tz-zones", "perl-app", "nginx", "postgres",
           "redis", *PYTHON_COMMANDS]


def measure(name: str, workdir: Path) -> tuple[dict, dict, int]:
    """(report, truth, slim bytes) of one sample."""
    archive = build_samples.cached_archive(name) or build_samples.ensure_sample(name)["archive"]
    report_path = workdir / f"{name}.json"
    result = slim(f"docker-archive:{archive}", SlimOptions(output=f"docker-archive:{workdir / name}.tar",
                                                           report=report_path))
    truth = strace_truth.truth(name)
    for command in PYTHON_COMMANDS.get(name, []):
        run = strace_truth.truth(name, command)
        known = {f["path"] for f in truth["files"]}
        truth["files"] += [f for f in run["files"] if f["path"] not in known]
    truth["total_bytes"] = sum(f["size"] for f in truth["files"])
    return json.loads(report_path.read_text()), truth, result.size_after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="this sample only (repeatable)")
    parser.add_argument("--files", type=int, default=3, help="largest files shown per rule")
    args = parser.parse_args(argv)
    names = args.only or SAMPLES
    rows = []
    with tempfile.TemporaryDirectory(prefix="slimmer-overkeep-") as tmp:
        for name in names:
            report, truth, size = measure(name, Path(tmp))
            touched = {f["path"] for f in truth["files"]}
            missing = sorted(touched - {f["path"] for f in report["files"]})
            rows.append((name, report, truth, size, missing))
    print("| sample | truth | slim | slim/truth | touched, not kept |\n|---|---|---|---|---|")
    for name, _report, truth, size, missing in rows:
        print(f"| {name} | {truth['total_bytes'] / 1e6:.2f} MB | {size / 1e6:.2f} MB | "
              f"{size / truth['total_bytes']:.3f} | {len(missing)} |")
    for name, report, truth, _size, missing in rows:
        print(f"\n{name}: kept, never touched, by rule" + (f" (touched, not kept: {missing})" if missing else ""))
        for rule, records in strace_truth.untouched_by_rule(report["files"], truth).items():
            total = sum(r["size"] for r in records)
            print(f"  {total:>9} B {len(records):>4} paths  {rule}")
            for r in records[:args.files]:
                print(f"  {r['size']:>20} B  {r['path']}  [{r['reason'][:100]}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
