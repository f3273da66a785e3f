"""Time zones: the compiled zone files under TZDIR (default /usr/share/zoneinfo), which glibc's
tzset, Go's time.LoadLocation and programs with a zone reader of their own (postgres) open by
name. A name is a path under the directory ("Europe/Paris", "UTC"); what the tree holds twice
(the `posix/` and `right/` copies) is left out of "all of it"."""

from __future__ import annotations

import posixpath
from functools import cached_property

from slimmer.trace.elf.rodata import glued_names
from slimmer.trace.named.model import Catalog, ImageView

DEFAULT_TZDIR = "/usr/share/zoneinfo"
LOCALTIME = "/etc/localtime"
POSIXRULES = "posixrules"  # what glibc applies to a TZ rule string that names no DST rules
COPIES = ("posix", "right")  # the same zones again (right/: with leap seconds)
TZIF_MAGIC = b"TZif"
# functions that make glibc read TZ and the zone it names (time/tzset.c callers)
GLIBC_ZONE_FUNCTIONS = frozenset({
    "tzset", "localtime", "localtime_r", "mktime", "timelocal", "ctime", "ctime_r", "strftime", "strftime_l",
    "wcsftime", "wcsftime_l", "getdate", "getdate_r", "strptime", "strptime_l",
})


class Zoneinfo(Catalog):
    """The zone tree of one image."""

    def __init__(self, view: ImageView) -> None:
        self.view = view
        self.directory = view.env.get("TZDIR") or DEFAULT_TZDIR

    def directories(self) -> list[str]:
        return [self.directory]

    @cached_property
    def _zones(self) -> frozenset[str]:
        """Names of regular files (or symlinks to them) holding compiled zones."""
        found = set()
        for path in self.view.walk_files(self.directory):
            entry = self.view.fs.lookup(path)
            if entry is not None and entry.is_file and self.view.fs.read(entry, 4) == TZIF_MAGIC:
                found.add(posixpath.relpath(path, self.directory))
        return frozenset(found)

    def name(self, word: str) -> str | None:
        zone = word.lstrip(":")
        if zone.startswith(self.directory + "/"):
            zone = zone[len(self.directory) + 1:]
        if zone.startswith("/"):  # TZ=/path/to/zonefile
            entry = self.view.fs.lookup(zone)
            return zone if entry is not None and entry.is_file and self.view.fs.read(entry, 4) == TZIF_MAGIC else None
        return zone if zone in self._zones else None

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return [(posixpath.join(self.directory, n), n, "") for n in names]

    def always(self) -> list[tuple[str, str]]:
        tz = self.view.env.get("TZ")
        if tz is None:
            return [(LOCALTIME, "the zone glibc and Go use when TZ is not set")]
        if tz and not tz.startswith((":", "/")) and self.name(tz) is None:
            return [(posixpath.join(self.directory, POSIXRULES), f"DST rules glibc applies to the rule TZ={tz}")]
        return []

    def everything(self) -> list[str]:
        return [posixpath.join(self.directory, n) for n in self.view.fs.listdir(self.directory) if n not in COPIES]

    def glued(self, data: bytes) -> list[str]:
        """Zone names in Go string data: "Area/City" found from its area."""
        areas = sorted({z.split("/", 1)[0] + "/" for z in self._zones if "/" in z and not z.startswith(COPIES)})
        return sorted(n for n in glued_names(data, areas, self._children) if n in self._zones)

    def _children(self, prefix: str) -> list[str]:
        base = posixpath.join(self.directory, prefix)
        out = []
        for name in self.view.fs.listdir(base):
            out.append(name + "/" if self.view.is_dir(posixpath.join(base, name)) else name)
        return out
