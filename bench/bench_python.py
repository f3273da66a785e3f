#!/usr/bin/env python3
"""Python tracer on a large venv (several thousand modules) against the stdlib's modulefinder.

    python bench/bench_python.py        # builds slimmer-bench/python-venv once (cached by recipe hash)

Both sides start from the same entry script (bench/python_venv/main.py) in the same image and
the same run: slim's trace of the image (interpreter, sys.path, start-up, the import graph with
lazy imports, extensions through the ELF tracer, data) against `modulefinder.ModuleFinder.
run_script` run by the image's own interpreter inside a container (it parses with the image's
compile(), follows imports at any depth, and does nothing else; it skips namespace packages,
which it cannot handle). Printed: seconds (best of 3)
and the ratio slim / modulefinder, with the number of modules each found.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fixtures"))

from slimmer.analysis import open_analysis  # noqa: E402
from slimmer.trace.roots import run_spec  # noqa: E402
from slimmer.trace.session import trace_image  # noqa: E402

import build_samples as bs  # noqa: E402

RECIPE = ROOT / "bench" / "python_venv"
TAG = "slimmer-bench/python-venv:latest"
MODULEFINDER = """
import json, modulefinder, time
original = modulefinder._find_module
def find_module(name, path=None):  # modulefinder fails on namespace packages (no loader): skip them
    try:
        return original(name, path)
    except AttributeError:
        raise ImportError(name)
modulefinder._find_module = find_module
best = None
for _ in range(3):
    start = time.perf_counter()
    finder = modulefinder.ModuleFinder()
    finder.run_script("/app/main.py")
    best = min(best or 1e9, time.perf_counter() - start)
print(json.dumps({"seconds": best, "modules": len(finder.modules)}))
"""


def ensure_image() -> None:
    key = bs.recipe_hash(RECIPE) + bs.base_sha256()
    if bs.ensure_tagged(bs.RECIPE_LABEL, key, TAG):
        return
    bs.ensure_base_image()
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-python-") as tmp:
        context = Path(tmp) / "ctx"
        bs.shutil.copytree(RECIPE, context)
        (context / "extra-ca-certs").mkdir(exist_ok=True)
        for crt in sorted(bs.glob.glob(bs.HOST_CA_GLOB)):
            bs.shutil.copy(crt, context / "extra-ca-certs")
        bs.docker_build(context, TAG, {bs.RECIPE_LABEL: key}, "bench-python-venv")


def main() -> int:
    ensure_image()
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "/opt/venv/bin/python",
                          TAG, "-c", MODULEFINDER], capture_output=True, text=True, check=True).stdout
    baseline = json.loads(out.strip().splitlines()[-1])
    with open_analysis(TAG) as opened:
        spec = run_spec(opened.image.config)
        best = None
        for _ in range(3):
            start = time.perf_counter()
            traced = trace_image(opened.fs, spec)
            best = min(best or 1e9, time.perf_counter() - start)
        modules = sum(1 for reason in traced.keep.reasons.values() if reason.text.startswith(("imported", "package")))
        python_files = sum(1 for path in traced.keep.reasons if path.endswith((".py", ".so")))
        venv_modules = sum(1 for entry in opened.fs.walk("/opt/venv/lib/python3.11/site-packages")
                           if entry.path.endswith((".py", ".so")))
    assert best is not None
    print(f"venv: {venv_modules} module files in site-packages")
    print(f"{'':24} {'seconds':>8} {'modules':>8}")
    print(f"{'modulefinder (image)':24} {baseline['seconds']:8.2f} {baseline['modules']:8}")
    print(f"{'slim trace':24} {best:8.2f} {python_files:8}   ({modules} kept as imports, .py and .so files)")
    print(f"ratio slim / modulefinder: {best / baseline['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
