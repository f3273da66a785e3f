#!/usr/bin/env python3
"""Benchmark of the shell analyser: `analyze_shell` against tree-sitter-bash parsing the same text
(the parse it is built on, measured in the same run), on a generated 1,000-line script and on the
real scripts kept in tests/host_scripts/.

    python bench/bench_shell.py              # best of 3 runs
    python bench/bench_shell.py --repeat 5

The tests once asserted "under 0.1 s for 1,000 lines" and "under 0.5 s a script"; as wall-clock
limits they belong here, as ratios to the parse.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import tree_sitter_bash  # noqa: E402
from tree_sitter import Language, Parser  # noqa: E402

from slimmer.trace.shell import analyze_shell  # noqa: E402

from test_shellscript import HOST_SCRIPTS, big_script  # noqa: E402


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (best is reported)")
    args = ap.parse_args()

    parser = Parser(Language(tree_sitter_bash.language()))
    inputs = [("generated, 1,000+ lines", big_script(60), "sh")]
    for path in sorted(p for p in HOST_SCRIPTS.rglob("*") if p.is_file() and p.name != "README.md"):
        text = path.read_text(errors="surrogateescape")
        inputs.append((str(path.relative_to(HOST_SCRIPTS)), text, "bash" if "bash" in text[:40] else "sh"))

    rows = []
    for name, text, shell in inputs:
        data = text.encode("utf-8", "surrogateescape")
        t_parse = best(lambda data=data: parser.parse(data), args.repeat)
        t_analyse = best(lambda text=text, shell=shell: analyze_shell(text, shell=shell), args.repeat)
        rows.append((name, text.count("\n"), t_parse, t_analyse))

    print(f"{'script':<40} {'lines':>6} {'parse ms':>9} {'analyse ms':>11} {'ratio':>6}")
    generated = rows[0]
    slowest = sorted(rows[1:], key=lambda r: r[3], reverse=True)[:5]
    for name, lines, t_parse, t_analyse in [generated, *slowest]:
        print(f"{name:<40} {lines:>6} {t_parse * 1e3:>9.2f} {t_analyse * 1e3:>11.2f} {t_analyse / t_parse:>6.1f}")
    total_parse = sum(r[2] for r in rows[1:])
    total_analyse = sum(r[3] for r in rows[1:])
    print(f"{'all ' + str(len(rows) - 1) + ' host scripts':<40} {sum(r[1] for r in rows[1:]):>6} "
          f"{total_parse * 1e3:>9.2f} {total_analyse * 1e3:>11.2f} {total_analyse / total_parse:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
