"""What an extension module imports: Cython, mypyc and pybind11 modules import other modules by
name from C (`PyImport_ImportModule("numpy._core._exceptions")`, mypyc's shared `*__mypyc`
helper beside the module). Those names are NUL-terminated strings of the object's data."""

from __future__ import annotations

import re

from slimmer.trace.python.source import ImportUse, ModuleFacts

# A run of name characters ending a C string, then whether the whole run is a dotted name: two
# simple scans are twice as fast on big objects as one pattern with a look-behind.
_C_STRING_TAIL = re.compile(rb"[\w.]+\x00")
_DOTTED_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
MAX_NAMES = 20000
# "code.h", "_yaml.pyx": file names the compiler left in the object, not modules
FILE_SUFFIXES = frozenset({"h", "c", "cc", "cpp", "hpp", "py", "pyx", "pxd", "pxi", "so", "txt", "rs", "inc"})


def extension_facts(data: bytes) -> ModuleFacts:
    """Dotted names are possible absolute imports; plain names possible siblings in the module's
    package (`from . import name`). The tracer keeps those that name modules that exist."""
    tails = (tail[:-1] for tail in _C_STRING_TAIL.findall(data) if _DOTTED_NAME.fullmatch(tail, 0, len(tail) - 1))
    names = [name.decode("ascii") for name in list(dict.fromkeys(tails))[:MAX_NAMES]]
    dotted = [ImportUse(name, 0, (), 0, True) for name in names
              if "." in name and name.rsplit(".", 1)[1] not in FILE_SUFFIXES]
    plain = tuple(name for name in names if "." not in name)
    return ModuleFacts(tuple(dotted) + (ImportUse("", 1, plain, 0, True),), (), None, 0)
