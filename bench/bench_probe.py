#!/usr/bin/env python3
"""What the probe costs: a sample's command run under the probe's tracer, against the same
container run without it, measured in the same run (median of --runs each, wall time of
`docker start --attach`, container creation excluded).

    .venv/bin/python bench/bench_probe.py [--sample perl-app] [--entrypoint /app/bin/store] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from slimmer.probe.bundle import MOUNT_POINT, make_bundle
from slimmer.probe.run import OUTPUT_MOUNT, TRACE_FILE
from slimmer.probe.stracelog import TRACE_ARGS

import build_samples

LABEL = "org.slimmer.bench=probe"


def timed_run(create: list[str]) -> float:
    container = subprocess.run(["docker", "create", "--label", LABEL, *create], capture_output=True, text=True,
                               check=True).stdout.strip()
    try:
        started = time.monotonic()
        subprocess.run(["docker", "start", "--attach", container], capture_output=True)
        return time.monotonic() - started
    finally:
        subprocess.run(["docker", "rm", "--force", container], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", default="perl-app")
    parser.add_argument("--entrypoint", default="/app/bin/store")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    image = build_samples.ensure_sample(args.sample)["tag"]
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-probe-") as tmp:
        bundle = make_bundle(Path(tmp) / "tracer")
        output = Path(tmp) / "out"
        output.mkdir(mode=0o777)
        tracer = bundle.command([*TRACE_ARGS, "-o", f"{OUTPUT_MOUNT}/{TRACE_FILE}", "--", args.entrypoint])
        plain = ["--network", "none", "--entrypoint", args.entrypoint, image]
        traced = ["--network", "none", "--cap-add", "SYS_PTRACE",
                  "--mount", f"type=bind,source={bundle.directory},target={MOUNT_POINT},readonly",
                  "--mount", f"type=bind,source={output},target={OUTPUT_MOUNT}",
                  "--entrypoint", tracer[0], image, *tracer[1:]]
        baseline = [timed_run(plain) for _ in range(args.runs)]
        probed = [timed_run(traced) for _ in range(args.runs)]
        lines = len((output / TRACE_FILE).read_text(errors="replace").splitlines())
    base, probe = statistics.median(baseline), statistics.median(probed)
    print(f"{args.sample} {args.entrypoint}: plain {base:.2f} s, under the probe {probe:.2f} s "
          f"({probe / base:.2f}x), {lines} trace lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
