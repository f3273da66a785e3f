"""Command lines compiled into programs: code that calls `system()` or `popen()` runs
`/bin/sh -c STRING`, so it needs /bin/sh, and a string of it that reads as a command line
naming a program of the image (initdb's `popen("locale -a")`) is run like a `-c` string of an
ENTRYPOINT: the shell analysis finds its commands.

A string counts when its first word is found in PATH and every other word is an option or a
path (`locale -a`, `gzip -dc /tmp/x`): messages begin with such words too ("date out of range").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from slimmer.rootfs.entry import Entry
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import CommandResolver
from slimmer.trace.elf.tracer import ElfTracer

SHELL = "/bin/sh"
# what runs a command line through the shell
SHELL_FUNCTIONS = frozenset({"system", "popen"})
_COMMAND_LINE = re.compile(r"[a-z][a-z0-9._+-]*(?: +(?:-{1,2}[A-Za-z0-9][\w=.,-]*|[\w.,:=+-]*/[\w/.,:=+-]*))+")


class CommandLinesTracer:
    """Tracer plug-in for the shell command lines of programs that call system() or popen()."""

    name = "command-line"

    def __init__(self, elf: ElfTracer, resolver: CommandResolver) -> None:
        self.elf = elf
        self.resolver = resolver

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        info = self.elf.object_info(entry, ctx)
        if info is None:
            return []
        calls = sorted(info.undefined & SHELL_FUNCTIONS)
        if not calls:
            return []
        why = f"{path} imports {', '.join(calls)}"
        needs = [Need(SHELL, f"the shell system() and popen() run ({why})", optional=True, rule=self.name)]
        for text in self.elf.loader(ctx).literals(entry, info).strings:
            if _COMMAND_LINE.fullmatch(text) and self.resolver.find(text.split(" ", 1)[0], ctx.cwd) is not None:
                needs += self.resolver.needs([SHELL, "-c", text], f"command line {text!r} in {path} ({why})",
                                             ctx.cwd, path)
        return needs
