"""Terminal descriptions: what ncurses' setupterm/tgetent read for TERM (ncurses
tinfo/db_iterator.c): $TERMINFO, ~/.terminfo, $TERMINFO_DIRS, then the directories compiled
into libtinfo ("/etc/terminfo:/lib/terminfo:/usr/share/terminfo" on Debian). An entry NAME is
DIR/<first letter>/NAME, or DIR/<its hex code>/NAME on filesystems without case."""

from __future__ import annotations

import posixpath

from slimmer.trace.named.model import Catalog, ImageView

DEFAULT_DIRS = ("/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo")
LIBRARIES = ("libtinfo.so.*", "libtinfow.so.*", "libncurses.so.*", "libncursesw.so.*")
# what reads a description (the rest of the API works on the one these loaded)
FUNCTIONS = frozenset({"setupterm", "tgetent", "newterm", "initscr", "restartterm", "setterm", "newterm_sp",
                       "tgetent_sp", "initscr_sp"})
DOCKER_TTY_TERM = "xterm"  # what `docker run -t` sets TERM to


class Terminfo(Catalog):
    """Terminal descriptions of one image."""

    def __init__(self, view: ImageView) -> None:
        self.view = view
        env = view.env
        dirs: list[str] = []
        if env.get("TERMINFO", "").startswith("/"):
            dirs.append(env["TERMINFO"])
        if view.home:
            dirs.append(posixpath.join(view.home, ".terminfo"))
        dirs += [d for d in env.get("TERMINFO_DIRS", "").split(":") if d.startswith("/")]
        dirs += self._compiled_in() or list(DEFAULT_DIRS)
        self.dirs = list(dict.fromkeys(dirs))

    def _compiled_in(self) -> list[str]:
        """The search list libtinfo was built with, from its strings."""
        for pattern in LIBRARIES:
            for path in self.view.fs.glob(f"/usr/lib/*/{pattern}") + self.view.fs.glob(f"/lib/*/{pattern}"):
                literals = self.view.literals(path)
                if literals is None:
                    continue
                for s in literals.strings:
                    parts = s.split(":")
                    if len(parts) > 1 and all(p.startswith("/") and "terminfo" in p for p in parts):
                        return parts
        return []

    def directories(self) -> list[str]:
        return self.dirs

    def _entries(self, name: str) -> list[str]:
        if not name or "/" in name:
            return []
        return [p for d in self.dirs for p in (posixpath.join(d, name[0], name),
                                                   posixpath.join(d, f"{ord(name[0]):02x}", name))
                if self.view.exists(p)]

    def name(self, word: str) -> str | None:
        return word if self._entries(word) else None

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return [(self._entries(n)[0], n, "") for n in names if self._entries(n)]

    def everything(self) -> list[str]:
        return [d for d in self.dirs if self.view.is_dir(d)]
