"""Scripts: `#!` lines as the kernel reads them, and shell scripts as their shell runs them.

The kernel runs `#!INTERP ARG` scripts as `INTERP [ARG] SCRIPT ARGS...`; that argv goes through
the same command resolution as an ENTRYPOINT, so `/usr/bin/env bash` and `env -S` need nothing
special. A shell handler then marks the script (or a `-c` string) for shell analysis, which
knows the script's arguments (so `exec "$@"` finds the CMD) and the functions and variables
of the files it sources.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.filekind import FileKind, shebang
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import ArgvHandler, CommandResolver, split_options
from slimmer.trace.namedfiles import named_files
from slimmer.trace.shell import CommandUse, analyze_shell
from slimmer.trace.shell.builtins import SHELL_ALIASES

ROLE_PREFIX = "shell:"
SOURCE_DEPTH = 4  # how deep sourced files are read for the functions and variables they define

_OPTIONS_WITH_VALUE = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def shell_handler(called_as: str) -> ArgvHandler:
    """`sh [options] -c STRING` analyses STRING; `sh [options] SCRIPT ARGS` marks SCRIPT as a shell script.
    The dialect follows the program really run: `sh` is dash on Debian but ash when it is busybox."""

    def handler(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        program = resolver.find(argv[0], cwd)
        is_busybox = program is not None and posixpath.basename(resolver.real_path(program, cwd)) == "busybox"
        return _shell_command_line(resolver, argv, "busybox" if is_busybox else SHELL_ALIASES[called_as], reason, cwd)

    return handler


def _shell_command_line(resolver: CommandResolver, argv: list[str], dialect: str, reason: str, cwd: str) -> list[Need]:
    """The shell options, then either `-c STRING [NAME ARGS...]` or `SCRIPT [ARGS...]`."""
    options, operands = split_options(argv[1:], _OPTIONS_WITH_VALUE, prefixes="-+")
    command_mode = any(o[:1] in "-+" and not o.startswith("--") and "c" in o[1:] for o in options)
    if not operands:
        return []
    shell = posixpath.basename(argv[0])
    if command_mode:
        # `sh -c STRING NAME ARGS...`: NAME is $0 and ARGS are $1...
        argv0 = operands[1:] or [shell]
        return ShellCode(resolver, dialect, cwd).needs(operands[0], f"{shell} -c in {reason}", None, argv0)
    script = posixpath.normpath(posixpath.join(cwd, operands[0]))
    resolver.ctx.script_args.setdefault(resolver.real_path(script), operands[1:])
    return [Need(script, f"script run by {shell} ({reason})", role=ROLE_PREFIX + dialect)]


def _busybox_handler(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`busybox APPLET ARGS`: the applet runs inside busybox; only a shell applet reads more code.
    (Applets called through their own names, `/bin/ls -> busybox`, reach here too: they are done.)"""
    if posixpath.basename(argv[0]) != "busybox" or len(argv) < 2 or argv[1] not in SHELL_ALIASES:
        return []
    return _shell_command_line(resolver, argv[1:], "busybox", f"busybox {argv[1]} ({reason})", cwd)


def shell_handlers() -> dict[str, ArgvHandler]:
    handlers = {name: shell_handler(name) for name in SHELL_ALIASES if name not in ("busybox", "posix")}
    return {**handlers, "busybox": _busybox_handler}


@dataclass
class ShellCode:
    """Shell code in one dialect, run from `cwd`: what it runs, looks up and sources."""

    resolver: CommandResolver
    dialect: str
    cwd: str

    @property
    def role(self) -> str:
        return ROLE_PREFIX + self.dialect

    def needs(self, text: str, where: str, requester: str | None, argv: list[str] | None) -> list[Need]:
        """`argv` is $0, $1, ... when known (so `exec "$@"` resolves), else None."""
        ctx = self.resolver.ctx
        analysis = analyze_shell(text, ctx.env, self.dialect, argv=argv)
        sourced = [path for use in analysis.commands if use.how == "source" for path in self._sourced_paths(use)]
        if sourced:
            # Functions and variables of sourced files are known to the script after `. FILE`.
            functions, variables = self._definitions(sourced, SOURCE_DEPTH, set())
            analysis = analyze_shell(text, {**ctx.env, **variables}, self.dialect, argv=argv, functions=functions)
        for warning in analysis.warnings:
            ctx.warn(requester, f"{where}, line {warning.line}: {warning.message}")
        found: list[Need] = []
        for use in analysis.commands:
            reason = f"{use.how} at line {use.line} of {where}"
            for name in self._names(use):
                found.extend(self._use_needs(use, name, reason, requester))
        return found + named_files(self.resolver.ctx.fs, text, where)

    def _names(self, use: CommandUse) -> list[str]:
        """A glob (`for f in /entrypoint.d/*.sh`) stands for every file it matches."""
        if not use.glob:
            return [use.name]
        return self.resolver.ctx.fs.glob(posixpath.join(self.cwd, use.name))

    def _use_needs(self, use: CommandUse, name: str, reason: str, requester: str | None) -> list[Need]:
        if use.how == "source":
            return [Need(path, reason, role=self.role) for path in self._source_candidates(name, requester)]
        if use.how == "script":
            return [Need(posixpath.normpath(posixpath.join(self.cwd, name)), reason, role=self.role)]
        if use.how == "lookup":
            program = self.resolver.find(name, self.cwd)
            return [Need(program, reason, optional=True)] if program else []
        return self.resolver.needs([name], reason, self.cwd, requester)

    def _sourced_paths(self, use: CommandUse) -> list[str]:
        return [path for name in self._names(use) for path in self._source_candidates(name, None)]

    def _source_candidates(self, name: str, requester: str | None) -> list[str]:
        """`. FILE`: a name with a slash is a path; others are searched in PATH (then, for bash,
        the current directory), without needing the execute bit."""
        fs = self.resolver.ctx.fs
        if "/" in name:
            return [posixpath.normpath(posixpath.join(self.cwd, name))]
        directories = self.resolver.search_path.split(":") + (["."] if self.dialect == "bash" else [])
        for directory in directories:
            candidate = posixpath.normpath(posixpath.join(self.cwd, directory or ".", name))
            if fs.lookup(candidate) is not None:
                return [candidate]
        if requester is not None:
            self.resolver.ctx.warn(requester, f"sourced file {name!r} not found in PATH")
        return []

    def _definitions(self, paths: list[str], depth: int, seen: set[str]) -> tuple[list[str], dict[str, str]]:
        """Functions and single-valued variables defined by sourced files (and what they source)."""
        functions: list[str] = []
        variables: dict[str, str] = {}
        fs = self.resolver.ctx.fs
        for path in paths:
            entry = fs.lookup(path)
            if entry is None or entry.type is not EntryType.FILE or path in seen or depth <= 0:
                continue
            seen.add(path)
            analysis = analyze_shell(fs.read(entry).decode("utf-8", "surrogateescape"), self.resolver.ctx.env,
                                     self.dialect)
            nested = [p for use in analysis.commands if use.how == "source" for p in self._sourced_paths(use)]
            more_functions, more_variables = self._definitions(nested, depth - 1, seen)
            functions += more_functions + list(analysis.functions)
            variables.update(more_variables)
            variables.update(analysis.variables)
        return functions, variables


class ScriptTracer:
    """For `#!` scripts: the interpreter line; for shell scripts: the commands they run."""

    name = "script"

    def __init__(self, resolver: CommandResolver) -> None:
        self.resolver = resolver

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        found: list[Need] = []
        args = ctx.script_args.get(path)
        role = ctx.roles.get(path, "")
        # A file its interpreter reads (a Perl module, a script run as `perl x.pl`) is not run by the
        # kernel: its `#!` line names no program.
        if ctx.kind(entry) is FileKind.SCRIPT and (not role or role.startswith(ROLE_PREFIX)):
            interpreter = shebang(ctx.fs, entry)
            if interpreter:
                if "/" not in interpreter[0]:
                    interpreter[0] = "./" + interpreter[0]  # the kernel opens it as a path, no PATH search
                argv = interpreter + [path] + (args or [])
                found.extend(self.resolver.needs(argv, f"interpreter of {path}", ctx.cwd, path))
        if role.startswith(ROLE_PREFIX):
            text = ctx.fs.read(entry).decode("utf-8", "surrogateescape")
            code = ShellCode(self.resolver, role[len(ROLE_PREFIX):], ctx.cwd)
            found.extend(code.needs(text, path, path, None if args is None else [path, *args]))
        return found
