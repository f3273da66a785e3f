"""Modules that ship only as bytecode (`.pyc` without the `.py`): the names they may import.

The marshal format of code objects changes between CPython versions, but every string constant
and name is still stored as a marshal string object: a type byte (`z`/`Z` short ASCII, `a`/`A`
ASCII, `u` UTF-8, `t` interned, each possibly with the FLAG_REF bit) and a length. Scanning for
them, without decoding the code objects, gives the names `IMPORT_NAME` and `IMPORT_FROM` use,
whatever the version; the tracer keeps those that name modules that exist.
"""

from __future__ import annotations

import re

from slimmer.trace.python.source import ImportUse, ModuleFacts

HEADER_BYTES = 16  # magic, flags, and mtime+size or hash (PEP 552)
_SHORT = re.compile(rb"[\x5a\x7a\xda\xfa]([\x01-\xff])")
_LONG = re.compile(rb"[\x41\x61\x74\x75\xc1\xe1\xf4\xf5](....)", re.S)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_NAME = 200


def names_in_bytecode(data: bytes) -> list[str]:
    """Identifier-like strings (dotted or not) stored in a .pyc, in order of appearance."""
    body = data[HEADER_BYTES:]
    found: dict[str, None] = {}
    for match in _SHORT.finditer(body):
        size = match.group(1)[0]
        _add(found, body[match.end():match.end() + size])
    for match in _LONG.finditer(body):
        size = int.from_bytes(match.group(1), "little")
        if 0 < size <= MAX_NAME:
            _add(found, body[match.end():match.end() + size])
    return list(found)


def _add(found: dict[str, None], raw: bytes) -> None:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return
    if _NAME.match(text):
        found[text] = None


def bytecode_facts(data: bytes) -> ModuleFacts:
    """Every name is a possible absolute import, a possible submodule of each of them (`from x
    import y`), and a possible sibling in the module's own package (`from . import y`). Only
    names of modules that exist are kept, so a name that is no import costs nothing."""
    names = tuple(names_in_bytecode(data))
    imports = [ImportUse(name, 0, names, 0, True) for name in names]
    imports.append(ImportUse("", 1, names, 0, True))
    return ModuleFacts(tuple(imports), (), None, 0)
