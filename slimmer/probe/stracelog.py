"""strace's output as the file accesses that succeeded, each with the program that made it.

The probe runs `strace -f -qq -y -s 4096 -e signal=none -e trace=%file,%process`: `-y` prints
every directory file descriptor with its path (`AT_FDCWD</app>`, which is also the process's
working directory), so names relative to a descriptor resolve as they are; names relative to the
working directory (`mkdir("body")`, `chdir("nginx")`) resolve against the directory each process
was last seen in, inherited across fork and moved by chdir. Failed calls are dropped: a search
through PATH or @INC touches the candidates it misses, and the app needs none of them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

TRACE_ARGS = ["-f", "-qq", "-y", "-s", "4096", "-e", "signal=none", "-e", "trace=%file,%process"]

# What each call does with the paths it names, and where they are in its arguments: "P" a path
# (a relative one from the working directory), "DP" a directory descriptor and a path relative
# to it, "S" a string that is not a path (a symlink's target). How: "exec" runs it, "open" opens
# it, "stat" looks at it, "enter" makes it the working directory, "change" creates, removes,
# renames or changes it (what it needs is the directory it is in, and itself when it exists).
# Other calls of %file name nothing the image must hold (getcwd's string is its answer).
_CALLS: dict[str, tuple[str, str]] = {
    "execve": ("exec", "P"),
    "execveat": ("exec", "DP"),
    **dict.fromkeys(("open", "creat"), ("open", "P")),
    **dict.fromkeys(("openat", "openat2"), ("open", "DP")),
    **dict.fromkeys(("stat", "lstat", "stat64", "lstat64", "access", "readlink", "statfs", "getxattr",
                     "lgetxattr", "listxattr", "llistxattr"), ("stat", "P")),
    **dict.fromkeys(("newfstatat", "fstatat64", "statx", "faccessat", "faccessat2", "readlinkat"), ("stat", "DP")),
    **dict.fromkeys(("chdir", "chroot"), ("enter", "P")),
    **dict.fromkeys(("mkdir", "rmdir", "unlink", "mknod", "chmod", "chown", "lchown", "truncate", "utime", "utimes",
                     "setxattr", "lsetxattr", "removexattr", "lremovexattr"), ("change", "P")),
    **dict.fromkeys(("mkdirat", "unlinkat", "mknodat", "fchmodat", "fchownat", "utimensat", "futimesat"),
                    ("change", "DP")),
    **dict.fromkeys(("rename", "link"), ("change", "P P")),
    **dict.fromkeys(("renameat", "renameat2", "linkat"), ("change", "DP DP")),
    "symlink": ("change", "S P"),
    "symlinkat": ("change", "S DP"),
}
# Calls that act on a symlink itself rather than on what it points to.
_NOFOLLOW_CALLS = frozenset({"lstat", "lstat64", "readlink", "readlinkat", "lgetxattr", "llistxattr", "lsetxattr",
                             "lremovexattr", "lchown", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "mknod",
                             "mknodat", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat"})
_FORK_CALLS = frozenset({"clone", "clone3", "fork", "vfork"})

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_RESUMED = re.compile(r"^<\.\.\. \w+ resumed>\s?(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(\S+)")
_STRING = r'"((?:[^"\\]|\\.)*)"'
_FD = r"(AT_FDCWD|-?\d+)(?:<((?:[^>\\]|\\.)*)>)?"
_WORKING_DIRECTORY = re.compile(r"AT_FDCWD<((?:[^>\\]|\\.)*)>")
_ARGUMENT = {"P": _STRING, "S": _STRING, "DP": _FD + r",\s*" + _STRING}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "\\": "\\", '"': '"'}


@dataclass(frozen=True)
class Access:
    path: str  # absolute, as the program named it (symlinks not resolved)
    how: str  # "exec", "open", "stat", "enter" or "change" (see _CALLS)
    follow: bool  # whether the last component's symlink is followed
    program: str  # what the process was running then (its last successful execve), "" before any:
    # for an execve, the program that called it


def accesses(trace: str, cwd: str = "/") -> list[Access]:
    """Every successful path-based call of the trace, in order; `cwd` is where the first process
    starts (the container's working directory)."""
    found: list[Access] = []
    programs: dict[int, str] = {}
    cwds: dict[int, str] = {}
    for pid, text in _calls(trace):
        m = _CALL.match(text)
        if not m:
            continue
        call, args, result = m.groups()
        seen = _WORKING_DIRECTORY.search(args)
        if seen:
            cwds[pid] = _unescape(seen.group(1))
        if result.startswith("-") or result == "?":
            continue
        if call in _FORK_CALLS and result.isdigit():
            programs[int(result)] = programs.get(pid, "")
            cwds[int(result)] = cwds.get(pid, cwd)
            continue
        if call not in _CALLS:
            continue
        how, layout = _CALLS[call]
        paths = _paths(args, layout, cwds.get(pid, cwd))
        follow = call not in _NOFOLLOW_CALLS and "AT_SYMLINK_NOFOLLOW" not in args and "O_NOFOLLOW" not in args
        found += [Access(path, how, follow, programs.get(pid, "")) for path in paths]
        if how == "exec" and paths:
            programs[pid] = paths[0]
        if how == "enter" and paths:
            cwds[pid] = paths[0]
    return found


_LAYOUT_PATTERNS: dict[str, re.Pattern[str]] = {}


def _paths(args: str, layout: str, cwd: str) -> list[str]:
    """The absolute paths a call names, in the order of its arguments. A descriptor-based call
    (`fchownat(3</x>, "", ..., AT_EMPTY_PATH)`) names none: its file was counted when opened."""
    pattern = _LAYOUT_PATTERNS.get(layout)
    if pattern is None:
        pattern = _LAYOUT_PATTERNS[layout] = re.compile("^" + r",\s*".join(_ARGUMENT[kind] for kind in layout.split()))
    m = pattern.match(args)
    if not m:
        return []
    paths = []
    groups = iter(m.groups())
    for kind in layout.split():
        if kind == "S":
            next(groups)
            continue
        base: str | None = cwd
        if kind == "DP":
            fd, directory = next(groups), next(groups)
            base = _unescape(directory) if directory is not None else cwd if fd == "AT_FDCWD" else None
        name = _unescape(next(groups))
        if name and (base is not None or name.startswith("/")):
            paths.append(posixpath.normpath(posixpath.join(base or "/", name)))
    return paths


def _calls(trace: str) -> Iterator[tuple[int, str]]:
    """(pid, call text) with `<unfinished ...>` and `<... resumed>` halves joined; a child
    inherits its parent's program until it runs its own."""
    pending: dict[int, str] = {}
    for raw in trace.splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        pid, text = int(m.group(1)), m.group(2)
        if text.endswith("<unfinished ...>"):
            pending[pid] = text[:-len("<unfinished ...>")].rstrip()
            continue
        resumed = _RESUMED.match(text)
        if resumed:
            text = pending.pop(pid, "") + resumed.group(1)
        yield pid, text


def _unescape(text: str) -> str:
    """Undo strace's C escapes (\\n, \\x41, \\101) into the bytes of the name."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 == len(text):
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        n = text[i + 1]
        if n in _ESCAPES:
            out += _ESCAPES[n].encode()
            i += 2
        elif n == "x":
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        elif n.isdigit():
            j = i + 1
            while j < len(text) and j < i + 4 and text[j] in "01234567":
                j += 1
            out.append(int(text[i + 1:j], 8) & 0xFF)
            i = j
        else:
            out += n.encode()
            i += 2
    return out.decode("utf-8", "surrogateescape")
