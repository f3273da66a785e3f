#!/usr/bin/env python3
"""Benchmark of `slim IMAGE` on the sample images, daemon to daemon: sizes against the strace
truth, and slim's wall time against the I/O floor measured in the same run on the same images:

  - floor = `docker save` of the fat image (SDK, bytes streamed to /dev/null)
          + `docker load` of the slim result (SDK, from a tar saved beforehand).

slim itself has to do at least that much (it reads the source through `docker save` and writes
the result through `docker load`); slim / floor is the cost of everything else (hashing,
indexing, tracing, packing). Each timing is the best of --repeat runs; before every slim run and
every load the bench tag is removed (untimed), so both pay the same daemon work.

    python bench/bench_slim.py                   # c-app, sh-app, perl-app, py-app, node-express
    python bench/bench_slim.py --only c-app
    python bench/bench_slim.py --no-verify       # skip the docker-run comparison column

Needs a Docker daemon; the samples are built / loaded by fixtures/build_samples.py if missing
(and the strace variants by fixtures/strace_truth.py). Bench tags slimmer-bench/NAME:slim are
removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "fixtures"))

from slimmer.image.daemon import CHUNK  # noqa: E402
from slimmer.pack.verify import compare  # noqa: E402
from slimmer.slim import SlimOptions, slim  # noqa: E402

import build_samples  # noqa: E402
import strace_truth  # noqa: E402

SAMPLES = ["c-app", "sh-app", "perl-app", "py-app", "node-express"]


def bench_tag(name: str) -> str:
    return f"slimmer-bench/{name}:slim"


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def best_of(repeat: int, fn, before=None):
    """(result of the fastest run, its seconds); `before` runs untimed before each run."""
    best = None
    for _ in range(repeat):
        if before is not None:
            before()
        result, t = timed(fn)
        if best is None or t < best[1]:
            best = (result, t)
    return best


def remove(client, tag: str) -> None:
    import docker

    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


def save_to(client, tag: str, path: str) -> int:
    """`docker save TAG` through the SDK, streamed into `path`; the number of bytes."""
    n = 0
    with open(path, "wb") as out:
        for chunk in client.images.get(tag).save(chunk_size=CHUNK, named=tag):
            out.write(chunk)
            n += len(chunk)
    return n


def load_from(client, path: Path) -> None:
    """`docker load` of a tar through the SDK, streamed from disk; raises on a daemon error."""

    def body():
        with open(path, "rb") as f:
            while data := f.read(CHUNK):
                yield data

    for message in client.api.load_image(body()):
        if "error" in message or "errorDetail" in message:
            raise RuntimeError(f"docker load {path}: {message}")


def mb(n: int) -> str:
    return f"{n / 1e6:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=SAMPLES, help="bench this sample only (repeatable)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing (best is reported)")
    ap.add_argument("--no-verify", action="store_true", help="do not run fat and slim images to compare them")
    args = ap.parse_args()

    import docker

    client = docker.from_env()
    names = args.only or SAMPLES
    rows = []
    work = Path(tempfile.mkdtemp(prefix="bench-slim-"))
    try:
        for name in names:
            fat = build_samples.ensure_sample(name)["tag"]
            tag = bench_tag(name)
            truth = strace_truth.truth(name)["total_bytes"]

            result, t_slim = best_of(args.repeat, lambda: slim(fat, SlimOptions(tag=tag)),
                                     before=lambda: remove(client, tag))
            fat_size = client.images.get(fat).attrs["Size"]
            slim_size = client.images.get(tag).attrs["Size"]

            _, t_save = best_of(args.repeat, lambda: save_to(client, fat, os.devnull))
            slim_tar = work / f"{name}-slim.tar"
            save_to(client, tag, str(slim_tar))
            _, t_load = best_of(args.repeat, lambda: load_from(client, slim_tar), before=lambda: remove(client, tag))

            verified = "-"
            if not args.no_verify:
                comparison = compare(client, fat, tag, [None], None, 120.0)[0]
                verified = "same" if comparison.same else "DIFFERS"
            rows.append({"name": name, "fat": fat_size, "slim": slim_size, "layer": result.size_after, "truth": truth,
                             "kept": result.kept_files, "t_slim": t_slim, "t_save": t_save, "t_load": t_load,
                             "verified": verified})

        print(f"slim IMAGE, daemon -> daemon; timings best of {args.repeat}; sizes in MB (1e6 B)")
        print(f"{'sample':12} {'fat':>7} {'slim':>6} {'truth':>6} {'slim/truth':>10} {'fat/slim':>8}  "
              f"{'slim s':>6} {'save s':>6} {'load s':>6} {'floor s':>7} {'slim/floor':>10}  verify")
        for r in rows:
            floor = r["t_save"] + r["t_load"]
            print(f"{r['name']:12} {mb(r['fat']):>7} {mb(r['slim']):>6} {mb(r['truth']):>6} "
                  f"{r['slim'] / r['truth']:>9.2f}x {r['fat'] / r['slim']:>7.1f}x  "
                  f"{r['t_slim']:>6.2f} {r['t_save']:>6.2f} {r['t_load']:>6.2f} {floor:>7.2f} "
                  f"{r['t_slim'] / floor:>9.2f}x  {r['verified']}")
        print("fat, slim: `docker image inspect` Size; truth: bytes the app touches (fixtures/strace_truth.py);")
        print("floor: docker save of the fat image (to /dev/null) + docker load of the slim image's tar")
    finally:
        for name in names:
            remove(client, bench_tag(name))
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
