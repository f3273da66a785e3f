"""What the name-service functions a process imports make libc read and dlopen: glibc's
nsswitch.conf, the files of each database's services and the NSS modules not built into
libc.so.6; musl's fixed files; the NSS code static binaries embed (tables in extras.py)."""

from __future__ import annotations

from slimmer.trace.elf import extras
from slimmer.trace.elf.arch import Libc
from slimmer.trace.elf.process import Process
from slimmer.trace.elf.tree import Category


def add_nss(proc: Process) -> None:
    """Files and modules for the NSS databases the objects of `proc` consult; libc.so.6 (else
    the program) dlopens the modules."""
    libc = proc.libc()
    caller = libc or proc.main
    users = proc.importers(extras.NSS_FUNCTIONS)
    if not users:
        return
    databases: dict[str, str] = {}  # database -> first importer's description
    functions: set[str] = set()
    for obj, names in users:
        functions.update(names)
        for n in names:
            for db in extras.NSS_FUNCTIONS[n]:
                databases.setdefault(db, f"{n} imported by {obj.path}")
    requester = proc.main.real
    for fn in sorted(functions):
        for path in extras.FUNCTION_FILES.get(fn, ()):
            proc.emit(path, f"read by {fn}", Category.DATA, requester, optional=True)
    if proc.rules.libc is not Libc.GLIBC:
        for db, why in databases.items():
            for path in extras.MUSL_DATABASE_FILES.get(db, ()):
                proc.emit(path, f"{db} database read by musl ({why})", Category.DATA, requester, optional=True)
        return
    conf = proc.ld.nsswitch()
    proc.emit(extras.NSSWITCH_CONF, f"NSS configuration ({next(iter(databases.values()))})", Category.NSS_DATA,
              requester, optional=True)
    version = libc.info.glibc_version if libc is not None else None
    for db, why in databases.items():
        services = (conf or {}).get(db)
        if services is None and db in extras.NSS_FALLBACK_DB:
            services = (conf or {}).get(extras.NSS_FALLBACK_DB[db])
        if services is None:
            services = extras.NSS_DEFAULTS.get(db, extras.NSS_DEFAULT)
        for service in services:
            if service in ("files", "compat") and db in extras.NSS_FILES:
                proc.emit(extras.NSS_FILES[db], f"{db} database, service {service} ({why})", Category.NSS_DATA,
                          requester, optional=True)
            for (d, s), paths in extras.NSS_SERVICE_FILES.items():
                if d == db and s in ("*", service):
                    for path in paths:
                        proc.emit(path, f"{db} database, service {service} ({why})", Category.NSS_DATA, requester,
                                  optional=True)
            since = extras.NSS_BUILTIN_SINCE.get(service)
            if since is not None and version is not None and version >= since:
                continue  # built into libc.so.6
            module = extras.NSS_MODULE.format(service=service)
            proc.dlopen(module, caller, Category.NSS,
                        f"NSS module for '{db}: {' '.join(services)}' in /etc/nsswitch.conf ({why}), "
                        f"dlopened by libc", optional=True)


def add_static_nss(proc: Process) -> None:
    """Static programs load nothing, but static glibc still reads NSS configuration (and may
    dlopen NSS modules), and Go's resolver reads the same files."""
    info = proc.main.info
    if not info.ro_ranges:
        return
    entry = proc.main.entry
    data = b"".join(proc.ld.fs.read(entry, size, off) for off, size in info.ro_ranges)
    if extras.STATIC_NSS_MARKER not in data:
        return
    root = proc.root
    for db in ("passwd", "group", "hosts", "services"):
        proc.emit(extras.NSS_FILES[db], f"static binary {root} embeds NSS code reading /etc/nsswitch.conf",
                  Category.NSS_DATA, root, optional=True)
    proc.emit(extras.NSSWITCH_CONF, f"static binary {root} reads it", Category.NSS_DATA, root, optional=True)
    proc.emit("/etc/resolv.conf", f"static binary {root} resolves host names", Category.NSS_DATA, root, optional=True)
    if extras.STATIC_GLIBC_NSS_MARKER in data:
        proc.tree.notes.append("static glibc binary: NSS modules other than files/dns are dlopened at run "
                               "time and need the shared libc of the same glibc version")
