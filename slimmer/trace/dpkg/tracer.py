"""The package rule: a kept program brings what its Debian package installed for it to read and
write: its conffiles (owners and modes as in the image), and the directories the package ships
empty, which exist for the program to write into (/var/lib/postgresql, /var/log/nginx).

Conffiles that configure other services (init scripts, logrotate, cron, systemd units, the
firewall's application list) are read by those services, never by the program: they are left.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.filekind import FileKind
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.dpkg.database import DpkgDatabase, Package
from slimmer.trace.elf.reader import ET_EXEC
from slimmer.trace.elf.tracer import ElfTracer

# conffiles read by other services (or by tools that set up users), not by the package's programs
OTHER_SERVICES = ("/etc/init.d/", "/etc/init/", "/etc/rc0.d/", "/etc/rc1.d/", "/etc/rc2.d/", "/etc/rc3.d/",
                  "/etc/rc4.d/", "/etc/rc5.d/", "/etc/rc6.d/", "/etc/rcS.d/", "/etc/logrotate.d/", "/etc/cron.d/",
                  "/etc/cron.daily/", "/etc/cron.hourly/", "/etc/cron.weekly/", "/etc/cron.monthly/",
                  "/etc/systemd/", "/etc/ufw/", "/etc/apparmor.d/", "/etc/default/", "/etc/insserv.conf.d/",
                  "/etc/X11/Xsession.d/", "/etc/bash_completion.d/", "/etc/skel/", "/etc/logcheck/",
                  "/etc/modprobe.d/", "/etc/sysctl.d/", "/etc/udev/", "/etc/kernel/")


class PackageTracer:
    """Tracer plug-in: conffiles and empty directories of the packages of kept programs."""

    name = "dpkg"

    def __init__(self, packages: DpkgDatabase, elf: ElfTracer) -> None:
        self.packages = packages
        self.elf = elf
        self._done: set[str] = set()

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        if not entry.mode & 0o111 or not self._program(entry, ctx):
            return []
        package = self.packages.owner(path)
        if package is None or package.name in self._done:
            return []
        self._done.add(package.name)
        why = f"of {package.name}, the package of {path}"
        needs = [Need(c, f"conffile {why}", optional=True, rule="dpkg") for c in package.conffiles
                 if not c.startswith(OTHER_SERVICES)]
        needs += [Need(d, f"directory {why}, shipped empty for its programs to write into", optional=True,
                       rule="dpkg") for d in self._empty_directories(package, ctx)]
        return needs

    def _program(self, entry: Entry, ctx: TraceContext) -> bool:
        """A script, or an executable ELF: not a library (libc.so.6 has an interpreter too, so
        that it can print its version, but it has a soname), nor the loader."""
        kind = ctx.kind(entry)
        if kind is FileKind.SCRIPT:
            return True
        info = self.elf.object_info(entry, ctx)
        if info is None:
            return False
        return info.type == ET_EXEC or (info.interp is not None and info.soname is None)

    def _empty_directories(self, package: Package, ctx: TraceContext) -> list[str]:
        """Directories of the package under which it installed nothing."""
        paths = self.packages.paths(package.name)
        parents = {posixpath.dirname(p) for p in paths}
        found = []
        for p in paths:
            if p in parents:
                continue
            entry = ctx.fs.get(p)
            if entry is not None and entry.is_dir:
                found.append(p)
        return found
