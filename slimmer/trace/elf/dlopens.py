"""Libraries a process dlopens by name, which the loader never sees: libgcc_s for glibc's
unwinding, and the library names held as strings by importers of dlopen (tables in extras.py).
Plugin directories are data chosen by name (slimmer/trace/named/)."""

from __future__ import annotations

import fnmatch
import posixpath

from slimmer.trace.elf import extras
from slimmer.trace.elf.arch import Libc
from slimmer.trace.elf.process import Process
from slimmer.trace.elf.tree import Category


def add_libgcc_s(proc: Process) -> None:
    """glibc dlopens libgcc_s.so.1 to unwind (thread cancellation and exit, backtrace)."""
    if proc.rules.libc is not Libc.GLIBC:
        return
    caller = proc.libc() or proc.main
    users = proc.importers(extras.LIBGCC_S_FUNCTIONS)
    if users:
        obj, names = users[0]
        proc.dlopen(extras.LIBGCC_S, caller, Category.LIBGCC_S,
                    f"glibc dlopens {extras.LIBGCC_S} to unwind for {', '.join(names)} (imported by {obj.path})",
                    optional=False)


def add_literal_names(proc: Process) -> None:
    """Library names in the read-only data of objects importing dlopen, but for the ones the
    object itself is, the process has loaded, or extras.DLOPEN_IGNORE leaves out."""
    if not proc.ld.dlopen_names:
        return
    for obj, names in proc.importers(extras.DLOPEN_FUNCTIONS):
        label = obj.label
        for lib in proc.ld.dlopen_strings(obj.entry, obj.info):
            if lib == obj.info.soname or lib in proc.by_name:
                continue
            if any(fnmatch.fnmatchcase(label, a) and fnmatch.fnmatchcase(posixpath.basename(lib), b)
                   for a, b in extras.DLOPEN_IGNORE):
                continue
            proc.dlopen(lib, obj, Category.DLOPEN_NAME,
                        f"dlopen name {lib!r} in {obj.path} (it imports {', '.join(names)})",
                        optional=True, quiet_missing=True)

