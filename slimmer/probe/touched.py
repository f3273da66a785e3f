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
from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.filekind import FileKind, classify, shebang
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.elf.reader import ElfError, parse_elf

NOT_IN_ANY_IMAGE = ("/proc", "/sys", "/dev", MOUNT_POINT)
_STRENGTH = {"symlink": 0, "stat": 1, "open": 2, "exec": 3}
INTERPRETER_DEPTH = 4  # the kernel's limit on nested #! interpreters


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
            if access.how == "exec":
                _interpreters(fs, resolved.path, access.program, touched, INTERPRETER_DEPTH)
    return touched


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


def is_directory(fs: RootFS, path: str) -> bool:
    entry = fs.get(path)
    return entry is not None and entry.type is EntryType.DIR
