"""The probe's accesses resolved in the image: which of its paths the run really needed.

Each access is looked up as the kernel would inside the image root: every symlink crossed is
needed too, and what the lookup reaches (a file, a symlink read with lstat/readlink, or a
directory the program lists or stats) is needed when it exists in the image. Paths that do not
exist in the image were created by the run; virtual filesystems and the probe's own mounts are
not part of any image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slimmer.probe.bundle import MOUNT_POINT
from slimmer.probe.stracelog import Access
from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import RootFS, SymlinkLoopError

NOT_IN_ANY_IMAGE = ("/proc", "/sys", "/dev", MOUNT_POINT)
_STRENGTH = {"symlink": 0, "stat": 1, "open": 2, "exec": 3}


@dataclass(frozen=True)
class Touch:
    how: str  # "exec", "open", "stat", or "symlink" for one crossed on the way
    program: str  # the program that made the access


def touched_paths(fs: RootFS, found: Iterable[Access]) -> dict[str, Touch]:
    """Image path -> how it was first touched, in the order of the trace."""
    touched: dict[str, Touch] = {}
    for access in found:
        if any(access.path == p or access.path.startswith(p + "/") for p in NOT_IN_ANY_IMAGE):
            continue
        try:
            resolved = fs.resolve(access.path, follow_last=access.follow)
        except SymlinkLoopError:
            continue
        for link in resolved.symlinks:
            touched.setdefault(link, Touch("symlink", access.program))
        if resolved.entry is not None and resolved.path != "/":
            seen = touched.get(resolved.path)
            if seen is None or _STRENGTH[access.how] > _STRENGTH[seen.how]:
                touched[resolved.path] = Touch(access.how, access.program)  # a stat, then an open: "open"
    return touched


def is_directory(fs: RootFS, path: str) -> bool:
    entry = fs.get(path)
    return entry is not None and entry.type is EntryType.DIR
