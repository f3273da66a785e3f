"""Shell code, from the tracer's side: the analysis's findings turned into Needs.

The shell analysis (slimmer.trace.shell) reads the text; here its findings meet the image:
every command line goes to the command resolver (so wrappers, shells and interpreters are
handled as they are in an ENTRYPOINT), sourced files are found as the shell finds them and
read for the functions and variables they define, and paths the shell opens, tests or enters
are kept as data.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import RootFS
from slimmer.trace.closure import Need
from slimmer.trace.commands import CommandResolver
from slimmer.trace.find import found_by
from slimmer.trace.namedfiles import named_files
from slimmer.trace.operands import existing_path
from slimmer.trace.shell import CommandUse, ShellAnalysis, ShellDialect, UseKind, analyze_shell

SHELL_ROLE_PREFIX = "shell:"
SOURCE_DEPTH = 4  # how deep sourced files are read for the functions and variables they define


def shell_role(dialect: ShellDialect) -> str:
    """The role of a file read as shell code of `dialect` (see Need.role)."""
    return SHELL_ROLE_PREFIX + dialect.value


def role_dialect(role: str | None) -> ShellDialect | None:
    """The dialect of a shell role, or None for any other role."""
    if role is None or not role.startswith(SHELL_ROLE_PREFIX):
        return None
    return ShellDialect(role[len(SHELL_ROLE_PREFIX):])


@dataclass
class ImageFiles:
    """The shell analysis's view of the image (slimmer.trace.shell.FileQuery)."""

    fs: RootFS
    cwd: str

    def glob(self, pattern: str) -> list[str]:
        if pattern.startswith("/"):
            return self.fs.glob(pattern)
        return [posixpath.relpath(path, self.cwd) for path in self.fs.glob(posixpath.join(self.cwd, pattern))]

    def find(self, args: Sequence[str]) -> list[str] | None:
        return found_by(self.fs, args, self.cwd)


@dataclass
class ShellCode:
    """Shell code in one dialect, run from `cwd`: what it runs, sources, looks up and opens."""

    resolver: CommandResolver
    dialect: ShellDialect
    cwd: str

    def needs(self, text: str, where: str, requester: str | None,
              argvs: Sequence[Sequence[str]] | None) -> list[Need]:
        """`argvs`: every ($0, $1, ...) the code is run with, when known (so `exec "$@"` resolves)."""
        ctx = self.resolver.ctx
        analysis = self._analysis(text, argvs, ctx.env, ())
        sourced = [path for use in analysis.uses if use.kind is UseKind.SOURCE for path in self._sourced(use)]
        if sourced:
            # Functions and variables of sourced files are known to the script after `. FILE`.
            functions, variables = self._definitions(sourced, SOURCE_DEPTH, set())
            analysis = self._analysis(text, argvs, {**ctx.env, **variables}, functions)
        for warning in analysis.warnings:
            ctx.warn(requester, f"{where}, line {warning.line}: {warning.message}")
        found: list[Need] = []
        for use in analysis.uses:
            found.extend(self._use_needs(use, f"{use.kind.value} at line {use.line} of {where}", requester))
        # a file run or sourced says so in its reason, rather than that a find listed it first
        found.sort(key=lambda need: need.args is None and need.role is None)
        return found + named_files(self.resolver.ctx.fs, text, where)

    def _analysis(self, text: str, argvs: Sequence[Sequence[str]] | None, env: Mapping[str, str],
                  functions: Sequence[str]) -> ShellAnalysis:
        return analyze_shell(text, env, self.dialect.value, argvs=argvs, functions=functions,
                             files=ImageFiles(self.resolver.ctx.fs, self.cwd))

    def _use_needs(self, use: CommandUse, reason: str, requester: str | None) -> list[Need]:
        fs = self.resolver.ctx.fs
        if use.kind in (UseKind.RUN, UseKind.EXEC):
            return self.resolver.needs(list(use.argv), reason, self.cwd, requester)
        if use.kind is UseKind.SOURCE:
            return [Need(path, reason, role=shell_role(self.dialect)) for path in self._source_candidates(use.name,
                                                                                                       requester)]
        if use.kind is UseKind.LOOKUP:
            program = self.resolver.find(use.name, self.cwd)
            return [Need(program, reason, optional=True)] if program else []
        path = existing_path(fs, use.name, self.cwd)
        if use.kind is UseKind.READ:
            return [Need(path, reason, optional=True, data=True)] if path else []
        # WRITE: the file if it is there, and the directory it goes in
        directory = existing_path(fs, posixpath.dirname(posixpath.join(self.cwd, use.name)), "/")
        return [Need(p, reason, optional=True, data=True) for p in (path, directory) if p]

    def _sourced(self, use: CommandUse) -> list[str]:
        return self._source_candidates(use.name, None)

    def _source_candidates(self, name: str, requester: str | None) -> list[str]:
        """`. FILE`: a name with a slash is a path; others are searched in PATH (then, for bash,
        the current directory), without needing the execute bit."""
        fs = self.resolver.ctx.fs
        if "/" in name:
            return [posixpath.normpath(posixpath.join(self.cwd, name))]
        directories = self.resolver.search_path.split(":") + (["."] if self.dialect is ShellDialect.BASH else [])
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
            analysis = self._analysis(fs.read(entry).decode("utf-8", "surrogateescape"), None,
                                      self.resolver.ctx.env, ())
            nested = [p for use in analysis.uses if use.kind is UseKind.SOURCE for p in self._sourced(use)]
            more_functions, more_variables = self._definitions(nested, depth - 1, seen)
            functions += more_functions + list(analysis.functions)
            variables.update(more_variables)
            variables.update(analysis.variables)
        return functions, variables
