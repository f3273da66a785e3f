"""Scripts: `#!` lines as the kernel reads them, and shell scripts as their shell runs them.

The kernel runs `#!INTERP ARG` scripts as `INTERP [ARG] SCRIPT`; that argv goes through the
same command resolution as an ENTRYPOINT, so `/usr/bin/env bash` and `env -S` need nothing
special. A shell handler then marks the script (or a `-c` string) for shell analysis.
"""

from __future__ import annotations

import posixpath
from typing import Iterable

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.filekind import FileKind, shebang
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import ArgvHandler, CommandResolver
from slimmer.trace.shellscript import analyze_shell

# Shell program names and the dialect the analyser should use for them.
SHELL_DIALECTS = {"sh": "dash", "dash": "dash", "bash": "bash", "rbash": "bash", "ash": "busybox", "busybox": "busybox"}
ROLE_PREFIX = "shell:"

_OPTIONS_WITH_VALUE = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def shell_handler(dialect: str) -> ArgvHandler:
    """`sh [options] -c STRING` analyses STRING; `sh [options] SCRIPT` marks SCRIPT as a shell script."""

    def handler(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        command_mode = False
        operands = argv[1:]
        while operands:
            word = operands[0]
            if word == "--":
                operands = operands[1:]
                break
            if word in _OPTIONS_WITH_VALUE:
                operands = operands[2:]
            elif word[:1] in "-+" and len(word) > 1:
                command_mode = command_mode or (not word.startswith("--") and "c" in word[1:])
                operands = operands[1:]
            else:
                break
        if not operands:
            return []
        shell = posixpath.basename(argv[0])
        if command_mode:
            return shell_text_needs(resolver, operands[0], dialect, f"{shell} -c in {reason}", cwd, None)
        script = posixpath.normpath(posixpath.join(cwd, operands[0]))
        return [Need(script, f"script run by {shell} ({reason})", role=ROLE_PREFIX + dialect)]

    return handler


def shell_handlers() -> dict[str, ArgvHandler]:
    return {name: shell_handler(dialect) for name, dialect in SHELL_DIALECTS.items()}


def shell_text_needs(resolver: CommandResolver, text: str, dialect: str, where: str, cwd: str,
                     requester: str | None) -> list[Need]:
    """Everything a piece of shell code runs, looks up or sources."""
    analysis = analyze_shell(text, resolver.ctx.env, dialect)
    for warning in analysis.warnings:
        resolver.ctx.warn(requester, f"{where}, line {warning.line}: {warning.message}")
    found: list[Need] = []
    for use in analysis.commands:
        reason = f"{use.how} at line {use.line} of {where}"
        if use.how == "source":
            found.extend(_sourced(resolver, use.name, reason, cwd, dialect, requester))
        elif use.how == "lookup":
            program = resolver.find(use.name, cwd)
            if program is not None:
                found.append(Need(program, reason, optional=True))
        else:
            found.extend(resolver.needs([use.name], reason, cwd, requester))
    return found


def _sourced(resolver: CommandResolver, name: str, reason: str, cwd: str, dialect: str,
             requester: str | None) -> list[Need]:
    """`. FILE`: a name with a slash is a path; others are searched in PATH (then, for bash,
    the current directory), without needing the execute bit."""
    role = ROLE_PREFIX + dialect
    if "/" in name:
        return [Need(posixpath.normpath(posixpath.join(cwd, name)), reason, role=role)]
    directories = resolver.search_path.split(":") + (["."] if dialect == "bash" else [])
    for directory in directories:
        candidate = posixpath.normpath(posixpath.join(cwd, directory or ".", name))
        if resolver.ctx.fs.lookup(candidate) is not None:
            return [Need(candidate, reason, role=role)]
    resolver.ctx.warn(requester, f"sourced file {name!r} not found ({reason})")
    return []


class ScriptTracer:
    """For `#!` scripts: the interpreter line; for shell scripts: the commands they run."""

    name = "script"

    def __init__(self, resolver: CommandResolver) -> None:
        self.resolver = resolver

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        found: list[Need] = []
        if ctx.kind(entry) is FileKind.SCRIPT:
            interpreter = shebang(ctx.fs, entry)
            if interpreter:
                if "/" not in interpreter[0]:
                    interpreter[0] = "./" + interpreter[0]  # the kernel opens it as a path, no PATH search
                argv = interpreter + [path]
                found.extend(self.resolver.needs(argv, f"interpreter of {path}", ctx.cwd, path))
        role = ctx.roles.get(path, "")
        if role.startswith(ROLE_PREFIX):
            text = ctx.fs.read(entry).decode("utf-8", "surrogateescape")
            found.extend(shell_text_needs(self.resolver, text, role[len(ROLE_PREFIX):], path, ctx.cwd, path))
        return found
