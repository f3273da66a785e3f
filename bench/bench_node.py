#!/usr/bin/env python3
"""Benchmark of the Node.js tracer on a large node_modules tree, against @vercel/nft on the same
tree in the same run.

The tree is what `npm ci` installs from bench/node-tree/package-lock.json (about 1,150 packages,
39,000 files, 620 MB: Babel, ESLint, Jest, webpack, TypeScript, Next, the AWS S3 client,
firebase-admin, ...), once, into $SLIMMER_CACHE/bench-node/. Its entry file requires every
top-level package. Both tracers start from that file:

  - slimmer: `trace_image` of an image holding the tree under /t and a stand-in node binary,
    running `node /t/index.js` (roots, closure, every tracer), the tree read from a layer tar;
  - nft: `nodeFileTrace([index.js])` of @vercel/nft (tests/nft-oracle, pinned), run by the host's
    node in a child process.

Wall and CPU seconds are both given: on a shared machine the wall time follows the load, the
CPU time less so.

    python bench/bench_node.py                # best of 3 each
    python bench/bench_node.py --repeat 1

Needs npm and node on the host (the first run downloads the tree: a few minutes). No daemon.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "fixtures"))

from slimmer.image.blob import Blob  # noqa: E402
from slimmer.rootfs.merge import merge_layers  # noqa: E402
from slimmer.trace.roots import RunSpec  # noqa: E402
from slimmer.trace.session import trace_image  # noqa: E402

import build_samples  # noqa: E402

TREE_RECIPE = ROOT / "bench" / "node-tree"
NFT_RECIPE = ROOT / "tests" / "nft-oracle"
STAND_IN_NODE = b'\0stand-in node { "variables": { "node_module_version": 127 } }\0'


def npm_ci(recipe: Path, kind: str) -> Path:
    """`npm ci` of a recipe folder into the cache, once per lockfile."""
    lock = (recipe / "package-lock.json").read_bytes()
    target = build_samples.cache_dir() / kind / hashlib.sha256(lock).hexdigest()[:16]
    if not (target / "node_modules").is_dir():
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(recipe / name, staging / name)
        print(f"npm ci {recipe.relative_to(ROOT)} -> {target} ...", file=sys.stderr, flush=True)
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=staging, check=True,
                       stdout=subprocess.DEVNULL)
        staging.rename(target)
    return target


def top_level_packages(tree: Path) -> list[str]:
    names = []
    for child in sorted((tree / "node_modules").iterdir()):
        if child.name.startswith("."):
            continue
        if child.name.startswith("@"):
            names += [f"{child.name}/{sub.name}" for sub in sorted(child.iterdir())]
        else:
            names.append(child.name)
    return names


def package_count(tree: Path) -> int:
    """Package directories at any depth: node_modules/NAME or node_modules/@SCOPE/NAME with a package.json."""
    count = 0
    for path in (tree / "node_modules").rglob("package.json"):
        parent = path.parent
        if parent.parent.name == "node_modules" or (parent.parent.name.startswith("@")
                                                    and parent.parent.parent.name == "node_modules"):
            count += 1
    return count


def write_layer(tree: Path, layer: Path) -> None:
    """The tree under /t and a stand-in /usr/bin/node, as one layer tar."""
    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("usr/bin/node")
        info.size, info.mode = len(STAND_IN_NODE), 0o755
        tar.addfile(info, fileobj=io.BytesIO(STAND_IN_NODE))
        tar.add(tree, arcname="t", filter=lambda member: member)


def best(repeat: int, fn):
    """(result, best wall seconds, CPU seconds of that run: this process and its children)."""
    runs, result = [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        result = fn()
        runs.append((time.perf_counter() - wall, _cpu() - cpu))
    wall, cpu = min(runs)
    return result, wall, cpu


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each tracer (the best is reported)")
    args = ap.parse_args()
    if not (shutil.which("npm") and shutil.which("node")):
        print("bench_node: needs npm and node on the host", file=sys.stderr)
        return 2
    tree = npm_ci(TREE_RECIPE, "bench-node")
    nft = npm_ci(NFT_RECIPE, "nft-oracle")
    shutil.copy(NFT_RECIPE / "trace.mjs", nft / "trace.mjs")
    entry = tree / "index.js"
    entry.write_text("".join(f"try {{ require('{name}'); }} catch (e) {{}}\n" for name in top_level_packages(tree)))
    files_in_tree = sum(1 for p in (tree / "node_modules").rglob("*") if p.is_file())

    with tempfile.TemporaryDirectory(prefix="slimmer-bench-node-") as tmp:
        layer = Path(tmp) / "layer.tar"
        t0 = time.perf_counter()
        write_layer(tree, layer)
        fs = merge_layers([Blob(layer, 0, layer.stat().st_size)]).rootfs
        setup = time.perf_counter() - t0
        spec = RunSpec(argv=["/usr/bin/node", "/t/index.js"], env={"PATH": "/usr/bin"}, cwd="/t", user="")
        result, ours, ours_cpu = best(args.repeat, lambda: trace_image(fs, spec))
        kept = [p for p in result.keep.reasons if p.startswith("/t/") and (e := fs.get(p)) is not None and e.is_file]

        def run_nft() -> dict:
            proc = subprocess.run(["node", "--max-old-space-size=4096", str(nft / "trace.mjs"), str(tree), str(entry)],
                                  capture_output=True, text=True, check=True)
            return json.loads(proc.stdout)

        nft_result, nft_wall, nft_cpu = best(args.repeat, run_nft)
        listed = {"/t/" + f for f in nft_result["fileList"]}

    print(f"tree: {package_count(tree)} packages, {files_in_tree} files in node_modules "
          f"({len(top_level_packages(tree))} required by the entry)")
    print(f"setup (untimed): layer tar + index {setup:.1f} s")
    print()
    print(f"| tracer (best of {args.repeat}) | files kept under the tree | wall s | CPU s | wall / nft | CPU / nft |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| slimmer trace_image | {len(kept)} | {ours:.1f} | {ours_cpu:.1f} | {ours / nft_wall:.2f}x "
          f"| {ours_cpu / nft_cpu:.2f}x |")
    print(f"| nft nodeFileTrace (node process) | {len(listed)} | {nft_wall:.1f} | {nft_cpu:.1f} | 1.00x | 1.00x |")
    print(f"(nft's own timer inside node, start-up excluded: {nft_result['seconds']:.1f} s)")
    print()
    print(f"nft lists {len(listed - set(kept))} files slimmer does not keep; slimmer keeps "
          f"{len(set(kept) - listed)} files nft does not list; warnings: {len(result.keep.warnings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
