"""The probe's accesses resolved in the image: which of its paths the run really needed.

Each access is looked up as the kernel would inside the image root: every symlink crossed is
needed too, and what the lookup reaches (a file, a symlink read with lstat/readlink, or a
directory the program lists, stats or enters) is needed when it exists in the image, as it is
(a directory with its owner and mode, not its contents). A path the image does not have was
made by the run (a file it wrote, a directory it created, a file in a volume): the run needed
the nearest directory above it that the image has (nginx creates /var/lib/nginx/body in
/var/lib/nginx). Virtual filesystems and the probe's own mounts are not part of any image.

The strace oracle (fixtures/strace_truth.py, its `dirs`) resolves the same accesses on its own,
on purpose: it must not import slimmer, and one module shared by both would hide its own bugs
from the tests that compare them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from slimmer.probe.bundle import MOUNT_POINT
from slimmer.probe.stracelog import Access
from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.filekind import FileKind, classify, shebang
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.elf.reader import ElfError, parse_elf

NOT_IN_ANY_IMAGE = ("/proc", "/sys", "/dev", MOUNT_POINT)
_STRENGTH = {"symlink": 0, "parent": 0, "stat": 1, "enter": 1, "change": 1, "open": 2, "exec": 3}
INTERPRETER_DEPTH = 4  # the kernel's limit on nested #! interpreters


@dataclass(frozen=True)
class Touch:
    how: str  # an Access's how; "symlink" for one crossed on the way, "parent" for the directory
    # above a path the image does not have
    program: str  # the program that made the access


def touched_paths(fs: RootFS, found: Iterable[Access]) -> dict[str, Touch]:
    """Image path -> how it was first touched, in the order of the trace."""
    touched: dict[str, Touch] = {}
    for access in found:
        if not _in_image(access.path):
            continue
        try:
            resolved = fs.resolve(access.path, follow_last=access.follow)
        except SymlinkLoopError:
            continue
        for link in filter(_in_image, resolved.symlinks):
            touched.setdefault(link, Touch("symlink", access.program))
        if not _in_image(resolved.path):
            continue  # through a symlink to a virtual file: /var/log/nginx/error.log -> /dev/stderr
        if resolved.entry is None:
            above = _directory_above(fs, resolved.path)
            if above is not None:
                _touch(touched, above, Touch("parent", access.program))
            continue
        if resolved.path != "/":
            _touch(touched, resolved.path, Touch(access.how, access.program))
        if access.how == "exec":
            _interpreters(fs, resolved.path, access.program, touched, INTERPRETER_DEPTH)
    return touched


def _in_image(path: str) -> bool:
    """Whether the run can find `path` in the image: not in a virtual filesystem Docker mounts."""
    return not any(path == p or path.startswith(p + "/") for p in NOT_IN_ANY_IMAGE)


def _touch(touched: dict[str, Touch], path: str, touch: Touch) -> None:
    """Record the strongest way a path was touched: a stat, then an open, is an "open"."""
    seen = touched.get(path)
    if seen is None or _STRENGTH[touch.how] > _STRENGTH[seen.how]:
        touched[path] = touch


def _directory_above(fs: RootFS, missing: str) -> str | None:
    """The nearest directory the image has above `missing` (a lookup's result, so the part the
    image has is free of symlinks); None when that is the root or not a directory (the call
    could not have succeeded in the image as it is)."""
    path = posixpath.dirname(missing)
    while path != "/" and fs.get(path) is None:
        path = posixpath.dirname(path)
    entry = fs.get(path)
    return path if path != "/" and entry is not None and entry.type is EntryType.DIR else None


def _interpreters(fs: RootFS, path: str, program: str, touched: dict[str, Touch], depth: int) -> None:
    """What the kernel opens itself for an execve, without a system call strace could show: the
    `#!` interpreter of a script, the PT_INTERP loader of an ELF program (recursively)."""
    entry = fs.get(path)
    if entry is None or entry.type is not EntryType.FILE or depth <= 0:
        return
    if classify(fs, entry) is FileKind.SCRIPT:
        interpreter: str | None = next(iter(shebang(fs, entry) or []), None)
    else:
        interpreter = _pt_interp(fs, entry)
    if not interpreter:
        return
    try:
        resolved = fs.resolve(interpreter)
    except SymlinkLoopError:
        return
    for link in resolved.symlinks:
        touched.setdefault(link, Touch("symlink", program))
    if resolved.entry is not None:
        touched.setdefault(resolved.path, Touch("exec", program))
        _interpreters(fs, resolved.path, program, touched, depth - 1)


def _pt_interp(fs: RootFS, entry: Entry) -> str | None:
    try:
        return parse_elf(lambda off, size: fs.read(entry, size, off), entry.size).interp
    except (ElfError, ValueError):
        return None

