"""Libraries a process dlopens by name, which the loader never sees: libgcc_s for glibc's
unwinding, the library names held as strings by importers of dlopen, and the plugin
directories of well-known libraries (tables in extras.py)."""

from __future__ import annotations

import fnmatch
import posixpath
from typing import TYPE_CHECKING

from slimmer.trace.elf import extras
from slimmer.trace.elf.tree import LoadedObject

if TYPE_CHECKING:
    from slimmer.trace.elf.process import Process


def add_libgcc_s(proc: Process, caller: LoadedObject) -> None:
    """glibc dlopens libgcc_s.so.1 to unwind (thread cancellation and exit, backtrace)."""
    users = proc.importers(extras.LIBGCC_S_FUNCTIONS)
    if users:
        obj, names = users[0]
        proc.dlopen(extras.LIBGCC_S, caller, "libgcc_s",
                    f"glibc dlopens {extras.LIBGCC_S} to unwind for {', '.join(names)} (imported by {obj.path})",
                    optional=False)


def add_literal_names(proc: Process) -> None:
    """Library names in the read-only data of objects importing dlopen, but for the ones the
    object itself is, the process has loaded, or extras.DLOPEN_IGNORE leaves out."""
    for obj, names in proc.importers(extras.DLOPEN_FUNCTIONS):
        label = obj.label
        for lib in proc.ld.dlopen_strings(obj.entry, obj.info):
            if lib == obj.info.soname or lib in proc.by_name:
                continue
            if any(fnmatch.fnmatchcase(label, a) and fnmatch.fnmatchcase(posixpath.basename(lib), b)
                   for a, b in extras.DLOPEN_IGNORE):
                continue
            proc.dlopen(lib, obj, "dlopen-name", f"dlopen name {lib!r} in {obj.path} (it imports {', '.join(names)})",
                        optional=True, quiet_missing=True)


def add_plugin_dirs(proc: Process) -> None:
    """Every plugin of the loaded libraries that `ImageLoader.known_dlopen` names."""
    for obj in list(proc.objects):
        label = obj.label
        for rule in proc.ld.known_dlopen:
            if fnmatch.fnmatchcase(label, rule.soname):
                base = rule.pattern if rule.pattern.startswith("/") else posixpath.join(
                    posixpath.dirname(obj.real), rule.pattern)
                for path in proc.ld.fs.glob(base):
                    proc.dlopen(path, obj, "dlopen-known", f"{rule.why}: loaded by {label} at run time",
                                optional=True, quiet_missing=True)
