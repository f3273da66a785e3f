"""Scripts: `#!` lines as the kernel reads them, and shell scripts as their shell runs them.

The kernel runs `#!INTERP ARG` scripts as `INTERP [ARG] SCRIPT ARGS...`; that argv goes through
the same command resolution as an ENTRYPOINT, so `/usr/bin/env bash` and `env -S` need nothing
special. A shell handler then needs the script with a shell role, and the tracer analyses it
with every argument list it is run with (so `exec "$@"` finds the CMD), knowing the functions
and variables of the files it sources.
"""

from __future__ import annotations

from collections.abc import Iterable

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.filekind import FileKind, shebang
from slimmer.trace.closure import ANY_ARGUMENTS, Need, TraceContext
from slimmer.trace.commands import CommandResolver
from slimmer.trace.shellcode import ShellCode, role_dialect


class ScriptTracer:
    """For `#!` scripts that may run: the interpreter line; for shell scripts: what they run,
    source and open."""

    name = "script"

    def __init__(self, resolver: CommandResolver) -> None:
        self.resolver = resolver

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        found: list[Need] = []
        invocations = ctx.invocations.get(path, [])
        role = ctx.roles.get(path)
        dialect = role_dialect(role)
        # A file the kernel may run: one something runs, or an executable one kept otherwise (run
        # by a program whose code does not say), unless its interpreter reads it (a Perl module,
        # a script run as `perl x.pl`): its `#!` line names no program then.
        runnable = bool(invocations) or (bool(entry.mode & 0o111) and (role is None or dialect is not None))
        if runnable and ctx.kind(entry) is FileKind.SCRIPT:
            interpreter = shebang(ctx.fs, entry)
            if interpreter:
                if "/" not in interpreter[0]:
                    interpreter[0] = "./" + interpreter[0]  # the kernel opens it as a path, no PATH search
                for args in invocations or [ANY_ARGUMENTS]:
                    found.extend(self.resolver.needs([*interpreter, path, *args], f"interpreter of {path}",
                                                     ctx.cwd, path))
        if dialect is not None:
            text = ctx.fs.read(entry).decode("utf-8", "surrogateescape")
            argvs = [(path, *args) for args in invocations] or None
            found.extend(ShellCode(self.resolver, dialect, ctx.cwd).needs(text, path, path, argvs))
        return found
