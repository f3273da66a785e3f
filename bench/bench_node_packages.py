#!/usr/bin/env python3
"""What keeping only the loaded files of each package saves, on the Node samples.

For every package the trace keeps something of (a directory under node_modules with a kept
package.json), the bytes of the whole package (its nested node_modules excepted) against the bytes
kept, and what the rest is: READMEs, changelogs and licences, test/doc/example directories, type
declarations, source maps, browser builds, and code or data no load reaches.

    python bench/bench_node_packages.py                 # node-express, node-official, node-cli
    python bench/bench_node_packages.py --only node-cli

Reads the samples' cached docker-archives (built by fixtures/build_samples.py if missing).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "fixtures"))

from slimmer.analysis import open_analysis  # noqa: E402
from slimmer.rootfs.entry import EntryType  # noqa: E402
from slimmer.trace.roots import run_spec  # noqa: E402
from slimmer.trace.session import trace_image  # noqa: E402

import build_samples  # noqa: E402

SAMPLES = ["node-express", "node-official", "node-cli"]
CATEGORIES = [
    ("type declarations", re.compile(r"\.d\.[cm]?ts$")),
    ("source maps", re.compile(r"\.map$")),
    ("READMEs, changelogs, licences, Markdown", re.compile(r"(?i)(^|/)(readme|changelog|history|license|licence)"
                                                           r"[^/]*$|\.md$")),
    ("test, doc, example directories", re.compile(r"(^|/)(tests?|__tests__|docs?|examples?|bench(mark)?s?)/")),
    ("browser builds", re.compile(r"(?i)browser|\.min\.js$|(^|/)umd/")),
]


def package_dir(path: str) -> str:
    """/x/node_modules/@scope/name/lib/a.js -> /x/node_modules/@scope/name"""
    head, _, rest = path.rpartition("/node_modules/")
    parts = rest.split("/")
    return f"{head}/node_modules/" + "/".join(parts[:2] if parts[0].startswith("@") else parts[:1])


def measure(name: str) -> tuple[int, int, int, Counter]:
    archive = build_samples.cached_archive(name) or Path(build_samples.ensure_sample(name)["archive"])
    with open_analysis(f"docker-archive:{archive}") as opened:
        fs = opened.fs
        kept = set(trace_image(fs, run_spec(opened.image.config)).keep.reasons)
        packages = sorted({package_dir(p) for p in kept if "/node_modules/" in p})
        total = kept_bytes = 0
        left_out: Counter = Counter()
        for package in packages:
            for entry in fs.walk(package):
                relative = entry.path[len(package) + 1:]
                if entry.type is not EntryType.FILE or relative.startswith("node_modules/") \
                        or "/node_modules/" in relative:
                    continue
                total += entry.size
                if entry.path in kept:
                    kept_bytes += entry.size
                    continue
                category = next((label for label, rx in CATEGORIES if rx.search(relative)),
                                "code and data no load reaches")
                left_out[category] += entry.size
    return len(packages), total, kept_bytes, left_out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", help="a sample (repeatable)")
    args = ap.parse_args()
    print("| sample | packages | package bytes | kept | left out | " + " | ".join(c for c, _ in CATEGORIES)
          + " | code and data no load reaches |")
    print("| --- " + "| ---: " * (5 + len(CATEGORIES)) + "|")
    for name in args.only or SAMPLES:
        count, total, kept, left_out = measure(name)
        cells = [left_out[c] for c, _ in CATEGORIES] + [left_out["code and data no load reaches"]]
        print(f"| {name} | {count} | {total / 1e6:.2f} MB | {kept / 1e6:.2f} MB | {(total - kept) / total:.0%} | "
              + " | ".join(f"{b / 1e6:.2f}" for b in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
