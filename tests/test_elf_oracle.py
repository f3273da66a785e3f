"""The oracle: for every dynamic ELF executable and shared object of the sample images, the
libraries the image's own ld.so reports (`/lib64/ld-linux-x86-64.so.2 --list FILE`, all files
in one container without network) must all be in the traced set, under exactly the path the
loader prints, and everything else the tracer keeps must carry a non-loader reason (NSS, gconv,
dlopen name, plugin directory, hwcaps variant, ld.so.conf, data file). The same on a fat image of
many more libraries (tests/elf_fixtures/fat, 622 MB) is `python bench/bench_elf.py --build --oracle`.
"""

from __future__ import annotations

import collections

import pytest

from slimmer.trace.elf import LOADER_CATEGORIES

import build_samples
from elfhelpers import ElfTracer, TraceContext, dynamic_elf_files, image_env, real, rootfs_from_image, run_loader_oracle

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

SAMPLES = ["base", "c-app", "py-app"]


def compare_with_loader(client, tag: str, work) -> dict:
    fs = rootfs_from_image(client, tag, work)
    tracer = ElfTracer()
    ctx = TraceContext(fs, image_env(client, tag))
    files = dynamic_elf_files(fs, tracer, ctx)
    oracle = run_loader_oracle(client, tag, files)
    counts: dict = {"objects": len(files), "libraries compared": 0, "loader failed": 0,
                    "extras by reason": collections.Counter()}
    problems: list[str] = []
    extras: dict[str, set[str]] = collections.defaultdict(set)
    for path in files:
        tree = tracer.tree(path, ctx)
        assert tree is not None, path
        status, printed = oracle[path]
        ours = set(tree.loader_paths())
        all_items = {i.path for i in tree.items}
        if status != 0:
            counts["loader failed"] += 1
            # ld.so could not load it: the tracer must have said why
            if not any(w.path in (path, None) or path in w.message for w in ctx.warnings):
                problems.append(f"{path}: ld.so --list failed ({status}) and the tracer did not warn")
        counts["libraries compared"] += len(printed)
        if printed - all_items:
            problems.append(f"{path}: loader loads {sorted(printed - all_items)}, not traced")
        if status == 0 and ours - printed:
            problems.append(f"{path}: traced as loader-loaded but ld.so does not load {sorted(ours - printed)}")
        for item in tree.items:
            if item.category not in LOADER_CATEGORIES:
                assert item.reason, item
                extras[item.category].add(real(fs, item.path))
    counts["extras by reason"] = {k: len(v) for k, v in sorted(extras.items())}
    counts["warnings"] = len(ctx.warnings)
    return {"counts": counts, "problems": problems}


@pytest.mark.parametrize("name", SAMPLES)
def test_traced_set_contains_what_the_image_loader_loads(name, docker_client, sample_image, tmp_path):
    tag = build_samples.BASE_TAG if name == "base" else sample_image(name)
    if name == "base":
        sample_image("c-app")  # builds the base image too
    report = compare_with_loader(docker_client, tag, tmp_path)
    print(f"\n{tag}: {report['counts']}")
    assert report["counts"]["objects"] > 100
    assert not report["problems"], "\n".join(report["problems"][:30])

