#!/usr/bin/env python3
"""Benchmark of the ELF tracer: the closure over every ELF file of a full Debian image, against
baselines measured in the same run on the same files:

  - parse-only: reading the ELF facts of every file once (slimmer's reader, no resolution);
  - lddtree: pax-utils' `lddtree -l -R ROOT FILES...` on an extracted copy of the image.

    python bench/bench_elf.py                      # slimmer-elf/fat:latest (else py-app sample)
    python bench/bench_elf.py --image debian:bookworm
    python bench/bench_elf.py --build              # build tests/elf_fixtures/fat first
    python bench/bench_elf.py --build --oracle     # and check it against its own ld.so (exit 1 if not)

--oracle runs the loader oracle of tests/test_elf_oracle.py on the image (every library the
image's ld.so loads is traced; every other kept file has a non-loader reason): the tests run it
on the samples, this on the fat image, too big (622 MB) to build in CI.

Needs a Docker daemon; lddtree needs pax-utils and pyelftools (run with the project's venv).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "fixtures"))

from slimmer.image.blob import Blob  # noqa: E402
from slimmer.rootfs.filekind import FileKind  # noqa: E402
from slimmer.rootfs.merge import merge_layers  # noqa: E402
from slimmer.trace.closure import Need, TraceContext, close  # noqa: E402
from slimmer.trace.elf import LOADER_CATEGORIES, ElfTracer  # noqa: E402
from slimmer.trace.elf.reader import ElfError, parse_elf  # noqa: E402

from elfhelpers import export_image, image_env  # noqa: E402
from test_elf_oracle import compare_with_loader  # noqa: E402

FAT = "slimmer-elf/fat:latest"
FALLBACK = "slimmer-sample/py-app:latest"
FAT_RECIPE = ROOT / "tests" / "elf_fixtures" / "fat"


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", help=f"image to trace (default {FAT}, else {FALLBACK})")
    ap.add_argument("--build", action="store_true", help=f"build {FAT} from {FAT_RECIPE.relative_to(ROOT)}")
    ap.add_argument("--no-lddtree", action="store_true", help="skip the lddtree baseline")
    ap.add_argument("--repeat", type=int, default=3, help="closure runs (best is reported)")
    ap.add_argument("--oracle", action="store_true", help="also compare with the image's ld.so --list")
    args = ap.parse_args()

    import docker

    client = docker.from_env()
    if args.build:
        subprocess.run(["docker", "build", "--network", "host", "-t", FAT, str(FAT_RECIPE)], check=True)
    tag = args.image
    if tag is None:
        try:
            client.images.get(FAT)
            tag = FAT
        except docker.errors.ImageNotFound:
            tag = FALLBACK
    work = Path(tempfile.mkdtemp(prefix="bench-elf-"))
    try:
        tar, t_export = timed(lambda: export_image(client, tag, work / "image.tar"))
        result, t_index = timed(lambda: merge_layers([Blob(tar, 0, tar.stat().st_size)]))
        fs = result.rootfs
        env = image_env(client, tag)

        def elf_files():
            ctx = TraceContext(fs, env)
            return [e.path for e in fs.entries() if e.is_file and ctx.kind(e) is FileKind.ELF]

        files, t_classify = timed(elf_files)

        def parse_all():
            n = 0
            for path in files:
                entry = fs.get(path)
                try:
                    parse_elf(lambda off, size: fs.read(entry, size, off), entry.size)
                    n += 1
                except ElfError:
                    pass
            return n

        parsed, t_parse = timed(parse_all)

        best = None
        for _ in range(args.repeat):
            tracer = ElfTracer()
            ctx = TraceContext(fs, env)
            keep, t = timed(lambda: close([Need(p, "root") for p in files], [tracer], ctx))
            if best is None or t < best[0]:
                best = (t, keep, tracer, ctx)
        t_closure, keep, tracer, ctx = best
        loader_paths = {fs.resolve(p).path for tree in tracer.trees.values() for p in tree.loader_paths()}

        print(f"image                 {tag}")
        print(f"export + index        {t_export:.2f} s + {t_index:.2f} s ({len(fs)} entries)")
        print(f"ELF files             {len(files)} (classified in {t_classify:.2f} s), {parsed} parsed")
        print(f"closure (ELF tracer)  {t_closure:.2f} s  -> {len(keep)} kept paths, {len(tracer.trees)} load trees, "
              f"{len(ctx.warnings)} warnings")
        print(f"parse-only baseline   {t_parse:.2f} s  (closure / parse-only = {t_closure / t_parse:.2f}x)")

        if not args.no_lddtree and shutil.which("lddtree"):
            rootdir = work / "root"
            rootdir.mkdir()
            with tarfile.open(tar) as t:
                members = [m for m in t.getmembers() if not (m.isdev() or m.name.startswith(("dev/", "proc/", "sys/")))]
                t.extractall(rootdir, members=members, numeric_owner=True, filter="fully_trusted")
            cmd = [sys.executable, shutil.which("lddtree"), "-l", "-R", str(rootdir), "--skip-non-elfs",
                   "--skip-missing", *files]
            proc, t_lddtree = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
            listed = {line[len(str(rootdir)):] for line in proc.stdout.splitlines() if line.startswith(str(rootdir))}
            listed_real = {fs.resolve(p).path for p in listed}
            missed = loader_paths - listed_real
            print(f"lddtree -l baseline   {t_lddtree:.2f} s  (closure / lddtree = {t_closure / t_lddtree:.2f}x), "
                  f"exit {proc.returncode}, {len(listed_real)} files listed")
            print(f"  libraries ld.so-style resolution loads that lddtree does not list: {len(missed)}"
                  + (f" e.g. {sorted(missed)[:5]}" if missed else ""))
        extras: dict[str, int] = {}
        for tree in tracer.trees.values():
            for item in tree.items:
                if item.category not in LOADER_CATEGORIES:
                    extras[item.category.value] = extras.get(item.category.value, 0) + 1
        print(f"non-loader items by reason (summed over trees): {dict(sorted(extras.items()))}")
        if args.oracle:
            (work / "oracle").mkdir()
            report = compare_with_loader(client, tag, work / "oracle")
            print(f"ld.so oracle           {report['counts']}")
            for problem in report["problems"][:30]:
                print(f"  PROBLEM {problem}")
            if report["problems"]:
                return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
