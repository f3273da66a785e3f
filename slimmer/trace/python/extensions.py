"""What an extension module imports: Cython, mypyc and pybind11 modules import other modules by
name from C (`PyImport_ImportModule("numpy._core._exceptions")`, mypyc's shared `*__mypyc`
helper beside the module). Those names are NUL-terminated strings of the object's data."""

from __future__ import annotations

import re

from slimmer.trace.python.source import ImportUse, ModuleFacts

_C_STRING = re.compile(rb"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\x00")
MAX_NAMES = 20000
# "code.h", "_yaml.pyx": file names the compiler left in the object, not modules
FILE_SUFFIXES = frozenset({"h", "c", "cc", "cpp", "hpp", "py", "pyx", "pxd", "pxi", "so", "txt", "rs", "inc"})


def extension_facts(data: bytes) -> ModuleFacts:
    """Dotted names are possible absolute imports; plain names possible siblings in the module's
    package (`from . import name`). The tracer keeps those that name modules that exist."""
    names = list(dict.fromkeys(m.group(1).decode("ascii") for m in _C_STRING.finditer(data)))[:MAX_NAMES]
    dotted = [ImportUse(name, 0, (), 0, True) for name in names
              if "." in name and name.rsplit(".", 1)[1] not in FILE_SUFFIXES]
    plain = tuple(name for name in names if "." not in name)
    return ModuleFacts(tuple(dotted) + (ImportUse("", 1, plain, 0, True),), (), None, 0)
