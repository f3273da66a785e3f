"""strace's output as the file accesses that succeeded, each with the program that made it.

The probe runs `strace -f -qq -y -s 4096 -e signal=none -e trace=%file,%process`: `-y` prints
every directory file descriptor with its path (`AT_FDCWD</app>`), so relative names resolve
without following `chdir`. Failed calls are dropped: a search through PATH or @INC touches the
candidates it misses, and the app needs none of them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

TRACE_ARGS = ["-f", "-qq", "-y", "-s", "4096", "-e", "signal=none", "-e", "trace=%file,%process"]

EXEC_CALLS = frozenset({"execve", "execveat"})
OPEN_CALLS = frozenset({"open", "openat", "openat2", "creat"})
STAT_CALLS = frozenset({"stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
                        "readlink", "readlinkat"})
_DIRFD_CALLS = frozenset({"openat", "openat2", "newfstatat", "statx", "faccessat", "faccessat2", "readlinkat",
                          "execveat"})
_NOFOLLOW_CALLS = frozenset({"lstat", "readlink", "readlinkat"})
_FORK_CALLS = frozenset({"clone", "clone3", "fork", "vfork"})

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_RESUMED = re.compile(r"^<\.\.\. \w+ resumed>\s?(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(\S+)")
_STRING = r'"((?:[^"\\]|\\.)*)"'
_FD = r"(?:AT_FDCWD|-?\d+)(?:<((?:[^>\\]|\\.)*)>)?"
_DIRFD_PATH = re.compile(r"^" + _FD + r",\s*" + _STRING)
_FIRST_PATH = re.compile(r"^" + _STRING)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "\\": "\\", '"': '"'}


@dataclass(frozen=True)
class Access:
    path: str  # absolute, as the program named it (symlinks not resolved)
    how: str  # "exec", "open" or "stat"
    follow: bool  # whether the last component's symlink is followed
    program: str  # what the process was running then (its last successful execve), "" before any:
    # for an execve, the program that called it


def accesses(trace: str) -> list[Access]:
    """Every successful path-based call of the trace, in order."""
    found: list[Access] = []
    programs: dict[int, str] = {}
    for pid, text in _calls(trace):
        m = _CALL.match(text)
        if not m:
            continue
        call, args, result = m.groups()
        if result.startswith("-") or result == "?":
            continue
        if call in _FORK_CALLS and result.isdigit():
            programs[int(result)] = programs.get(pid, "")
            continue
        if call in _DIRFD_CALLS:
            a = _DIRFD_PATH.match(args)
            base = _unescape(a.group(1)) if a and a.group(1) else "/"
            path = _unescape(a.group(2)) if a else ""
        else:
            a = _FIRST_PATH.match(args)
            base, path = "/", _unescape(a.group(1)) if a else ""
        if not path:
            continue  # an fd-based call: the file was counted when it was opened
        path = posixpath.normpath(posixpath.join(base, path))
        how = "exec" if call in EXEC_CALLS else "open" if call in OPEN_CALLS else "stat"
        follow = call not in _NOFOLLOW_CALLS and "AT_SYMLINK_NOFOLLOW" not in args and "O_NOFOLLOW" not in args
        found.append(Access(path, how, follow, programs.get(pid, "")))
        if how == "exec":
            programs[pid] = path
    return found


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
