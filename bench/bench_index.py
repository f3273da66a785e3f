#!/usr/bin/env python3
"""Benchmark of opening a large image: verify + index of a synthetic docker-archive (~50,000
files, ~1 GB in three layers, with overwrites, whiteouts, an opaque directory, symlinks and
hard links), against a baseline measured in the same run on the same file:

  - cat: reading every byte of the archive sequentially (8 MB chunks), i.e. the I/O floor of
    hashing the layers.

Measured, each in a fresh subprocess (slimmer memoises layer hashes within a process):

  - index: entering `open_analysis("docker-archive:ARCHIVE")` = layers hashed against the
    config's diff_ids and the merged tree indexed; its time and the peak RSS of the process;
  - audit: `slim audit --json docker-archive:ARCHIVE` as a command (interpreter start-up included).

    python bench/bench_index.py
    python bench/bench_index.py --files 50000 --gb 1 --repeat 3
    python bench/bench_index.py --profile           # also cProfile the index step, top entries

The archive is written to a temporary directory and deleted at the end. No daemon needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from imagefactory import make_config  # noqa: E402

READ_CHUNK = 8 << 20
RSS_LIMIT_MB = 500

# Children report their own peak RSS as VmHWM of /proc/self/status: it belongs to the process's
# memory map since its exec. (ru_maxrss from wait4/RUSAGE_CHILDREN would not do: Linux carries the
# forking parent's high-water mark across the exec, so every child would show at least this
# process's RSS.)
VMHWM = """
def vmhwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

INDEX_CHILD = VMHWM + """
import json, sys, time
from slimmer.analysis import open_analysis
t0, c0 = time.perf_counter(), time.process_time()
with open_analysis(sys.argv[1]) as opened:
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    entries = len(opened.fs)
    layers = len(opened.layer_tars)
print(json.dumps({"seconds": seconds, "cpu": cpu, "entries": entries, "layers": layers, "rss_mb": vmhwm_mb()}))
"""

# `slim audit ...` as the console script runs it, plus the peak RSS written to the file argv[1].
CLI_CHILD = VMHWM + """
import sys
from slimmer.cli import main
code = main(sys.argv[2:])
sys.stdout.flush()
open(sys.argv[1], "w").write(str(vmhwm_mb()))
sys.exit(code)
"""

IMPORT_CHILD = VMHWM + """
import slimmer.analysis, slimmer.audit, slimmer.cli
print(vmhwm_mb())
"""

PROFILE_CHILD = """
import cProfile, pstats, sys
from slimmer.analysis import open_analysis
profile = cProfile.Profile()
profile.enable()
with open_analysis(sys.argv[1]) as opened:
    profile.disable()
pstats.Stats(profile).sort_stats(sys.argv[2]).print_stats(int(sys.argv[3]))
"""


class Pattern:
    """A file-like object giving `size` bytes cut from a shared random buffer (cheap, incompressible)."""

    def __init__(self, buf: bytes, start: int, size: int) -> None:
        self.buf, self.pos, self.left = buf, start % len(buf), size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            piece = self.buf[self.pos:self.pos + n - len(out)]
            out += piece
            self.pos = (self.pos + len(piece)) % len(self.buf)
        self.left -= n
        return bytes(out)


def _info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "", mode: int = 0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname, ti.mode = kind, size, link, mode
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 1_700_000_000, 0, 0, "", ""
    return ti


def write_layer(path: Path, members: list[tuple], buf: bytes) -> str:
    """Write a layer tar of (name, kind, size|link) members; return its diff_id."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, arg in members:
            if kind == "dir":
                tf.addfile(_info(name, tarfile.DIRTYPE, mode=0o755))
            elif kind == "file":
                tf.addfile(_info(name, size=arg), Pattern(buf, zlib.crc32(name.encode()), arg))
            elif kind == "symlink":
                tf.addfile(_info(name, tarfile.SYMTYPE, link=arg, mode=0o777))
            elif kind == "hardlink":
                tf.addfile(_info(name, tarfile.LNKTYPE, link=arg))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(READ_CHUNK):
            h.update(data)
    return "sha256:" + h.hexdigest()


def plan_layers(n_files: int, total: int, rng: random.Random) -> list[list[tuple]]:
    """Three layers: a base with most files, an update (overwrites, whiteouts, new files, two large
    files), a last one with an opaque directory. ~60% of the bytes are in 6 large files."""
    n_large = 6
    large_size = int(total * 0.6) // n_large
    small_budget = total - n_large * large_size
    n_small = n_files - n_large
    mean = small_budget / n_small
    sizes = [max(0, int(rng.expovariate(1 / mean))) for _ in range(n_small)]
    scale = small_budget / max(1, sum(sizes))
    sizes = [int(s * scale) for s in sizes]

    def path(i: int) -> str:
        return f"usr/share/bench/g{i // 2500:02d}/d{i // 50:04d}/f{i:05d}.dat"

    layers: list[list[tuple]] = [[], [], []]
    dirs_done: set[tuple[int, str]] = set()

    def dirs(layer: list[tuple], name: str) -> None:
        parts = name.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            d = "/".join(parts[:k])
            if (id(layer), d) not in dirs_done:
                dirs_done.add((id(layer), d))
                layer.append((d + "/", "dir", 0))

    base, update, last = layers
    n_base = int(n_small * 0.7)
    n_update = int(n_small * 0.2)

    def layer_of(i: int) -> list[tuple]:
        return base if i < n_base else update if i < n_base + n_update else last

    for i, size in enumerate(sizes):
        layer = layer_of(i)
        name = path(i)
        dirs(layer, name)
        if i % 50 == 7 and i > 0:
            layer.append((name, "symlink", f"f{i - 1:05d}.dat"))
        elif i % 997 == 11 and i > 1 and layer_of(i - 2) is layer and (i - 2) % 50 != 7:
            layer.append((name, "hardlink", path(i - 2)))
        else:
            layer.append((name, "file", size))
    for j in range(n_large):
        layer = base if j < 4 else update
        name = f"opt/big/blob{j}.bin"
        dirs(layer, name)
        layer.append((name, "file", large_size))
    # update: overwrite ~1,000 base files, delete 200 (whiteouts)
    chosen = rng.sample(range(n_base), 1200)
    for i in chosen[:1000]:
        if i % 50 != 7 and i % 997 != 11:
            dirs(update, path(i))
            update.append((path(i), "file", 4096))
    for i in chosen[1000:]:
        dirs(update, path(i))
        update.append((path(i).rsplit("/", 1)[0] + "/.wh." + path(i).rsplit("/", 1)[1], "file", 0))
    # last: an opaque directory (one of the base's leaf directories is replaced by its new content)
    opaque = path(100).rsplit("/", 1)[0]
    dirs(last, path(100))
    last.append((opaque + "/.wh..wh..opq", "file", 0))
    last.append((opaque + "/replacement.txt", "file", 123))
    for layer in layers:  # a tar lists each name once per layer, in a stable order
        seen: dict[str, tuple] = {}
        for m in layer:
            seen[m[0]] = m
        layer[:] = list(seen.values())
    return layers


def make_archive(work: Path, n_files: int, total: int) -> tuple[Path, int]:
    """The docker-archive; (path, number of entries in the layers)."""
    rng = random.Random(0)
    buf = random.Random(1).randbytes(64 << 20)
    layers = plan_layers(n_files, total, rng)
    diff_ids, layer_paths = [], []
    for i, members in enumerate(layers):
        p = work / f"layer{i}.tar"
        diff_ids.append(write_layer(p, members, buf))
        layer_paths.append(p)
    config = make_config(diff_ids, {"Entrypoint": ["/bin/sh"]})
    cfg_hex = hashlib.sha256(config).hexdigest()
    archive = work / "bench-index.tar"
    ids = [hashlib.sha256(d.encode()).hexdigest() for d in diff_ids]
    manifest = [{"Config": f"{cfg_hex}.json", "RepoTags": ["bench/index:latest"],
                 "Layers": [f"{i}/layer.tar" for i in ids]}]
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tf:
        for layer_id, p in zip(ids, layer_paths):
            tf.addfile(_info(f"{layer_id}", tarfile.DIRTYPE, mode=0o755))
            tf.add(p, arcname=f"{layer_id}/layer.tar")
            p.unlink()
        for name, data in ((f"{cfg_hex}.json", config), ("manifest.json", json.dumps(manifest).encode())):
            tf.addfile(_info(name, size=len(data)), Pattern(data, 0, len(data)))
    return archive, sum(len(m) for m in layers)


def cat(path: Path) -> int:
    n = 0
    with open(path, "rb", buffering=0) as f:
        while data := f.read(READ_CHUNK):
            n += len(data)
    return n


def run_child(argv: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, exit code, stdout) of a child process; its stderr is shown if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
    return seconds, cpu, proc.returncode, proc.stdout.decode()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while data := f.read(READ_CHUNK):
            h.update(data)
    return h.hexdigest()


def best(runs) -> tuple:
    """The run with the smallest wall time (first element)."""
    return min(runs, key=lambda r: r[0])


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=50_000, help="files in the image (default 50000)")
    ap.add_argument("--gb", type=float, default=1.0, help="total file bytes in GB (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing (best is reported)")
    ap.add_argument("--profile", action="store_true", help="cProfile the index step and print the top entries")
    ap.add_argument("--profile-sort", default="cumulative", help="pstats sort key (default cumulative)")
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument("--keep", action="store_true", help="keep the archive (prints its path)")
    args = ap.parse_args()

    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        (archive, n_entries), t_make, _ = timed(lambda: make_archive(work, args.files, int(args.gb * 1e9)))
        size = archive.stat().st_size
        ref = f"docker-archive:{archive}"

        t_cat, c_cat = best(timed(lambda: cat(archive))[1:] for _ in range(args.repeat))
        t_sha, c_sha = best(timed(lambda: sha256_file(archive))[1:] for _ in range(args.repeat))

        import_rss = float(run_child([py, "-c", IMPORT_CHILD])[3])
        index_runs = []
        for _ in range(args.repeat):
            _, _, code, out = run_child([py, "-c", INDEX_CHILD, ref])
            if code != 0:
                print(f"index child failed (exit {code})", file=sys.stderr)
                return 1
            facts = json.loads(out)
            index_runs.append((facts["seconds"], facts["cpu"], facts["rss_mb"], facts))
        t_index, c_index, _, facts = best(index_runs)
        rss_index = max(r[2] for r in index_runs)

        audit_runs = []
        hwm_file = work / "audit-hwm"
        for _ in range(args.repeat):
            wall, cpu, code, out = run_child([py, "-c", CLI_CHILD, str(hwm_file), "audit", "--json", "--quiet", ref])
            if code != 0:
                print(f"slim audit failed (exit {code})", file=sys.stderr)
                return 1
            json.loads(out)  # it must be JSON
            audit_runs.append((wall, cpu, float(hwm_file.read_text())))
        t_audit, c_audit, _ = best(audit_runs)
        rss_audit = max(r[2] for r in audit_runs)

        print(f"synthetic docker-archive: {size / 1e9:.2f} GB, {facts['layers']} layers, {n_entries} layer entries, "
              f"{facts['entries']} in the merged tree (written in {t_make:.1f} s); timings best of {args.repeat}")
        print(f"{'step':34} {'wall s':>7} {'/ cat':>8} {'cpu s':>7} {'peak RSS MB':>12}")
        rows = [("cat (read all bytes, 8 MB chunks)", t_cat, c_cat, None),
                ("sha256 of all bytes (for context)", t_sha, c_sha, None),
                ("open_analysis (verify + index)", t_index, c_index, rss_index),
                ("slim audit --json (whole command)", t_audit, c_audit, rss_audit)]
        for label, wall, cpu, rss in rows:
            rss_text = "" if rss is None else f"{rss:.0f}"
            print(f"{label:34} {wall:>7.2f} {wall / t_cat:>7.2f}x {cpu:>7.2f} {rss_text:>12}")
        print(f"{'python + import slimmer (no work)':34} {'':>7} {'':>8} {'':>7} {import_rss:>12.0f}")
        ok = rss_index < RSS_LIMIT_MB and rss_audit < RSS_LIMIT_MB
        print(f"requirement: index in seconds and peak RSS < {RSS_LIMIT_MB} MB: "
              f"{'met' if ok else 'NOT MET'} (index {t_index:.1f} s, {rss_index:.0f} MB)")

        if args.profile:
            print(f"\ncProfile of open_analysis (sorted by {args.profile_sort}):")
            proc = subprocess.run([py, "-c", PROFILE_CHILD, ref, args.profile_sort, str(args.profile_top)],
                                  cwd=ROOT, capture_output=True, text=True)
            sys.stdout.write(proc.stdout[proc.stdout.find("   ncalls"):] if "   ncalls" in proc.stdout else proc.stdout)
        if args.keep:
            kept = Path(tempfile.gettempdir()) / archive.name
            shutil.move(archive, kept)
            print(f"archive kept at {kept}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
