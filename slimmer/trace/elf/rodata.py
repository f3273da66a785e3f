"""The literals of an object as its code uses them: C strings (whole NUL-terminated strings of
the read-only data) and, for Go programs, string data (Go strings are not NUL-terminated: the
linker lays them end to end, so a name is found where it starts, not where it ends).

Data a program picks by name (a time zone, a charset, a plugin) and paths compiled into it are
found here; the rules that use them live in slimmer/trace/named/ and slimmer/trace/paths/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from slimmer.trace.elf.reader import MAX_TABLE_BYTES, ElfInfo, ReadAt

# a literal a program passes by name: printable ASCII between two NULs, of 3 bytes (no shorter
# name is one a rule uses) to 4 KiB (longer runs are tables or text, not names)
_C_STRING = re.compile(rb"(?<=\0)[\x20-\x7e\t]{3,4096}(?=\0)")
# Go's runtime is in every Go program; its function table (pclntab) holds NUL-terminated names
_GO_MARKER = b"\0runtime.main\0"
_ABSOLUTE = re.compile(r"(?:/[A-Za-z0-9_.+@=~,-]+)+/?")


@dataclass
class Literals:
    """What one object holds as literals, read once per content."""

    strings: tuple[str, ...]  # whole C strings of printable ASCII
    go: bool = False  # a Go program: `data` holds its string data for prefix searches
    data: bytes = field(default=b"", repr=False)

    @cached_property
    def paths(self) -> tuple[str, ...]:
        """Whole strings that are absolute paths, and the absolute entries of colon lists
        ("/etc/terminfo:/lib/terminfo")."""
        found: list[str] = []
        for s in self.strings:
            if s[0] == "/":
                found.extend(p for p in s.split(":") if p[:1] == "/" and _ABSOLUTE.fullmatch(p))
        return tuple(dict.fromkeys(found))

    def go_function(self, name: str) -> bool:
        """Whether a Go program links the function `name` ("time.LoadLocation")."""
        return self.go and b"\0" + name.encode() + b"\0" in self.data


def read_literals(read_at: ReadAt, info: ElfInfo) -> Literals:
    """The C strings of the object's read-only data; for a Go program also the data itself."""
    chunks = [read_at(off, min(size, MAX_TABLE_BYTES)) for off, size in info.ro_ranges if size > 0]
    data = b"\0" + b"\0".join(chunks) + b"\0"
    strings = tuple(m.decode("ascii") for m in _C_STRING.findall(data))
    go = _GO_MARKER in data
    return Literals(strings, go, data if go else b"")


def glued_names(data: bytes, starts: Iterable[str], children: Callable[[str], Iterable[str]]) -> set[str]:
    """Names of a tree found in Go string data: at each occurrence of a start ("Europe/",
    "/etc/"), the names of `children(prefix)` that the following bytes begin with, descending
    while a child is itself a directory (`children` gives those with a trailing "/"; a directory
    the bytes name is found with its trailing "/")."""
    found: set[str] = set()
    for start in starts:
        token = start.encode()
        at = data.find(token)
        while at >= 0:
            _descend(data, at + len(token), start, children, found)
            at = data.find(token, at + 1)
    return found


def _descend(data: bytes, at: int, prefix: str, children: Callable[[str], Iterable[str]], found: set[str],
             depth: int = 0) -> None:
    if depth > 8:
        return
    for child in children(prefix):
        raw = child.encode()
        if child.endswith("/"):
            if data.startswith(raw[:-1], at):
                found.add(prefix + child)
                if data.startswith(raw, at):
                    _descend(data, at + len(raw), prefix + child, children, found, depth + 1)
        elif data.startswith(raw, at):
            found.add(prefix + child)
