"""Package data: the non-Python files inside a kept package's folder (templates, `cacert.pem`,
JSON schemas), read at run time through `__file__`, `importlib.resources` or `pkgutil`.

Kept: every file of the package folder and of its sub-folders that are not packages, except
code and build inputs (modules are kept when imported; C headers, stubs and static libraries
are for compilers), `__pycache__` (the interpreter's own caches are kept with their modules)
and test folders.
"""

from __future__ import annotations

import posixpath

from slimmer.rootfs.entry import EntryType
from slimmer.trace.python.finder import ModuleFinder

NOT_DATA_SUFFIXES = (".py", ".pyc", ".pyo", ".pyi", ".pxd", ".pxi", ".pyx", ".so", ".h", ".hpp", ".c", ".cpp",
                     ".a", ".lib", ".dll", ".exe", ".pdb")
SKIPPED_FOLDERS = frozenset({"__pycache__", "tests", "test"})


def package_data(finder: ModuleFinder, package_dir: str) -> list[str]:
    """Data files of the package whose folder is `package_dir`."""
    found: list[str] = []
    stack = [package_dir]
    while stack:
        folder = stack.pop()
        listing = finder.listing(folder)
        for name, kind in sorted(listing.items()):
            path = posixpath.join(folder, name)
            if kind is EntryType.DIR:
                if name not in SKIPPED_FOLDERS and not _is_package(finder, path):
                    stack.append(path)
            elif kind is EntryType.FILE and not name.endswith(NOT_DATA_SUFFIXES) and ".so." not in name:
                found.append(path)
    return found


def _is_package(finder: ModuleFinder, folder: str) -> bool:
    return any(name.startswith("__init__.") for name in finder.listing(folder))
