"""The probe's tracer: the host's strace, made independent of the image it runs in.

Debian ships no static strace, so the probe takes Debian's `strace` package as installed on this
machine and copies the binary with the shared libraries and the loader it uses into one folder.
Bind-mounted read-only into the container, it runs as `LOADER --library-path DIR DIR/strace`:
nothing is taken from the image (which may hold another libc, or none) and nothing in the image
changes. strace's own start-up happens before it traces anything, so none of its files appear in
the trace. The folder lives in the analysis's work directory and goes with it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from slimmer.errors import SlimError

MOUNT_POINT = "/.slimmer-probe"  # where the bundle appears in the container
_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


@dataclass(frozen=True)
class TracerBundle:
    directory: Path
    loader: str  # file name of the dynamic loader inside the bundle

    def command(self, tracer_args: list[str]) -> list[str]:
        """argv that runs strace with `tracer_args` inside the container."""
        return [f"{MOUNT_POINT}/{self.loader}", "--library-path", MOUNT_POINT, f"{MOUNT_POINT}/strace",
                *tracer_args]


def make_bundle(directory: Path) -> TracerBundle:
    """Copy strace, its libraries and its loader into `directory` (created)."""
    strace = shutil.which("strace")
    if strace is None:
        raise SlimError("--probe traces the image with strace, which is not installed on this machine "
                        "(Debian: apt-get install strace)")
    files = [Path(strace), *_shared_objects(strace)]
    loaders = [f for f in files if f.name.startswith("ld-")]
    if not loaders:
        raise SlimError(f"--probe: cannot find the dynamic loader of {strace} (is it a static binary?)")
    directory.mkdir(parents=True)
    for source in files:
        shutil.copyfile(source.resolve(), directory / source.name)
        (directory / source.name).chmod(0o755)
    return TracerBundle(directory, loaders[0].name)


def _shared_objects(program: str) -> list[Path]:
    """The libraries and loader `program` uses on this machine, as ldd lists them."""
    env = {**os.environ, "LC_ALL": "C"}
    done = subprocess.run(["ldd", program], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SlimError(f"--probe: ldd {program} failed: {done.stderr.strip() or done.stdout.strip()}")
    return [Path(m.group(1)) for line in done.stdout.splitlines() if (m := _LDD_LINE.match(line))]
