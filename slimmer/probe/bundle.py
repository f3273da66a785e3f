"""The probe's tracer: the host's strace, made independent of the image it runs in.

Debian ships no static strace, so the probe takes Debian's `strace` package as installed on this
machine and copies the binary with the shared libraries and the loader it uses into one folder.
Bind-mounted read-only into the container, it runs as `LOADER --library-path DIR DIR/strace`:
nothing is taken from the image (which may hold another libc, or none) and nothing in the image
changes. strace's own start-up happens before it traces anything, so none of its files appear in
the trace. The folder lives in the analysis's work directory and goes with it.

strace, the container's first process, blocks the signals Docker's stop sends it (strace -I 3,
its default when it writes to a file), so the bundle also holds the host's dash: run inside the
container, it sends the stop signal to the program strace started, which then shuts down traced.
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
SHELL = "dash"
_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


@dataclass(frozen=True)
class TracerBundle:
    directory: Path
    loader: str  # file name of the dynamic loader inside the bundle
    has_shell: bool = False  # whether the host's dash is in it

    def command(self, tracer_args: list[str]) -> list[str]:
        """argv that runs strace with `tracer_args` inside the container."""
        return self._run("strace", tracer_args)

    def signal_command(self, number: int) -> list[str] | None:
        """argv that sends signal `number` to the program strace (PID 1) started, inside the
        container; None without a shell in the bundle."""
        if not self.has_shell:
            return None
        # The kernel's list has no newline at its end: `read` fails there but has read the pid.
        return self._run(SHELL, ["-c", f'read -r pid rest < /proc/1/task/1/children; kill -{number} "$pid"'])

    def _run(self, program: str, args: list[str]) -> list[str]:
        return [f"{MOUNT_POINT}/{self.loader}", "--library-path", MOUNT_POINT, f"{MOUNT_POINT}/{program}", *args]


def make_bundle(directory: Path) -> TracerBundle:
    """Copy strace (and dash, when the host has it), their libraries and their loader into
    `directory` (created)."""
    strace = shutil.which("strace")
    if strace is None:
        raise SlimError("--probe traces the image with strace, which is not installed on this machine "
                        "(Debian: apt-get install strace)")
    files = [Path(strace), *_shared_objects(strace)]
    loaders = [f for f in files if f.name.startswith("ld-")]
    if not loaders:
        raise SlimError(f"--probe: cannot find the dynamic loader of {strace} (is it a static binary?)")
    shell = shutil.which(SHELL)
    if shell is not None:
        files += [Path(shell), *(f for f in _shared_objects(shell) if f.name not in {f.name for f in files})]
    directory.mkdir(parents=True)
    for source in files:
        shutil.copyfile(source.resolve(), directory / source.name)
        (directory / source.name).chmod(0o755)
    return TracerBundle(directory, loaders[0].name, shell is not None)


def _shared_objects(program: str) -> list[Path]:
    """The libraries and loader `program` uses on this machine, as ldd lists them."""
    env = {**os.environ, "LC_ALL": "C"}
    done = subprocess.run(["ldd", program], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SlimError(f"--probe: ldd {program} failed: {done.stderr.strip() or done.stdout.strip()}")
    return [Path(m.group(1)) for line in done.stdout.splitlines() if (m := _LDD_LINE.match(line))]
