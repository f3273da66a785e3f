"""Files that code names by absolute path: data files a script or module reads (`grep x
/srv/list.csv`, `DATA=/etc/app.conf`, Perl's `-x '/bin/pwd'`) are named this way far more often
than built at run time. Shared by the shell and the interpreter tracers. They are kept as data:
code that runs a file it names says so in a command line, which its tracer follows."""

from __future__ import annotations

import re

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import Resolved, RootFS, SymlinkLoopError
from slimmer.trace.closure import Need

ABSOLUTE_PATH = re.compile(r"(?<![\w./$}-])/(?:[\w.+@%=-]+/)*[\w.+@%=-]+")
VIRTUAL_FILESYSTEMS = ("/proc/", "/sys/", "/dev/")


def is_virtual(path: str) -> bool:
    """A path in a filesystem the container runtime provides, never in the image."""
    return (path + "/").startswith(VIRTUAL_FILESYSTEMS)


def link_to_virtual(resolved: Resolved) -> bool:
    """A lookup that went through symlinks into a filesystem the runtime provides: the link is
    what the image holds (an official image's /var/log/nginx/error.log -> /dev/stderr)."""
    return resolved.entry is None and bool(resolved.symlinks) and is_virtual(resolved.path)


def named_files(fs: RootFS, text: str, where: str) -> list[Need]:
    """Existing regular files whose absolute path appears literally in `text` (lines starting
    with `#` are comments and skipped)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for path in ABSOLUTE_PATH.findall(line):
            if is_virtual(path):
                continue
            try:
                entry = fs.lookup(path)
            except SymlinkLoopError:
                continue
            if entry is not None and entry.type is EntryType.FILE:
                found.append(Need(path, f"path named at line {number} of {where}", optional=True, data=True))
    return found
