"""Running a command inside the image: execvp's PATH search, then what the program's arguments
mean.

An argv is traced in three steps, wherever it comes from (ENTRYPOINT/CMD, a `#!` line, a
wrapper, a shell script): find the program exactly as `execvp` would inside the image; let the
handler registered for that program (a shell, `env`, an init wrapper, an interpreter: see
slimmer.trace.programs) say which of its arguments name further code or commands; and keep the
arguments that name existing paths (slimmer.trace.operands).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.filekind import FileKind
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.argv import is_dynamic
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.operands import operand_needs

# Docker gives a container this PATH when the image sets none (and runc searches it for argv[0]).
DOCKER_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# What a program does with its command line: (resolver, argv as run, reason, cwd) -> Needs.
# A word built at run time (from a shell script) is a slimmer.trace.argv.DynamicWord: a str
# whose value is its source text (`"$CMD"`).
ArgvHandler = Callable[["CommandResolver", list[str], str, str], list[Need]]


@dataclass
class CommandResolver:
    """Turns command lines into Needs; handlers are keyed by program name (see `handler_for`)."""

    ctx: TraceContext
    handlers: dict[str, ArgvHandler] = field(default_factory=dict)
    _requester: str | None = field(default=None, init=False)  # the file whose analysis is running

    @property
    def search_path(self) -> str:
        return self.ctx.env.get("PATH", DOCKER_DEFAULT_PATH)

    def find(self, name: str, cwd: str = "/") -> str | None:
        """The file `execvp(name)` runs: a name with a slash is taken as is, others are looked up
        in each PATH directory in turn (an empty entry is the current directory), skipping
        candidates that are not executable regular files, as execvp skips EACCES/ENOENT."""
        if not name or is_dynamic(name):
            return None
        if "/" in name:
            path = posixpath.normpath(posixpath.join(cwd, name))
            return path if self._executable(path, cwd) else None
        for directory in self.search_path.split(":"):
            candidate = posixpath.normpath(posixpath.join(cwd, directory or ".", name))
            if self._executable(candidate, cwd):
                return candidate
        return None

    def _executable(self, path: str, cwd: str) -> bool:
        try:
            entry = self.ctx.fs.lookup(path, cwd=cwd)
        except SymlinkLoopError:
            return False
        return entry is not None and entry.type is EntryType.FILE and bool(entry.mode & 0o111)

    def needs(self, argv: list[str], reason: str, cwd: str = "/", requester: str | None = None) -> list[Need]:
        """The program of `argv`, what its handler finds in the arguments, and the existing paths
        they name. A script is needed with its arguments: its interpreter reads them."""
        if not argv:
            return []
        saved = self._requester
        self._requester = requester if requester is not None else saved
        try:
            return self._needs(argv, reason, cwd)
        finally:
            self._requester = saved

    def _needs(self, argv: list[str], reason: str, cwd: str) -> list[Need]:
        if is_dynamic(argv[0]):
            self.warn(f"command name built at run time: {argv[0]} ({reason})")
            return []
        program = self.find(argv[0], cwd)
        if program is None:
            self.warn(f"{self._not_found(argv[0], cwd)} ({reason})")
            return []
        real = self.real_path(program)
        found = [Need(program, reason, args=tuple(argv[1:]) if self._is_script(real) else None)]
        handler = self.handler_for(real, argv[0])
        if handler is not None:
            found.extend(handler(self, argv, reason, cwd))
        return found + operand_needs(self.ctx.fs, argv, reason, cwd)

    @property
    def requester(self) -> str | None:
        """The file whose command lines are being resolved (None for the image config's)."""
        return self._requester

    def warn(self, message: str) -> None:
        """A warning about the file whose command lines are being resolved (handlers use it)."""
        self.ctx.warn(self._requester, message)

    def _is_script(self, real: str) -> bool:
        entry = self.ctx.fs.get(real)
        return entry is not None and self.ctx.kind(entry) is FileKind.SCRIPT

    def _not_found(self, name: str, cwd: str) -> str:
        """Why `find` failed, in the words of the failing lookup."""
        if "/" not in name:
            return f"command {name!r} not found in the image's PATH"
        try:
            entry = self.ctx.fs.lookup(name, cwd=cwd)
        except SymlinkLoopError as e:
            return str(e)
        return f"{name} is not an executable file" if entry is not None else f"{name} does not exist in the image"

    def real_path(self, path: str, cwd: str = "/") -> str:
        try:
            return self.ctx.fs.resolve(path, cwd=cwd).path
        except SymlinkLoopError:
            return path

    def handler_for(self, real_program: str, called_as: str) -> ArgvHandler | None:
        """By the name it was called as (busybox applets, `sh` -> dash), then the real file's name."""
        for name in (posixpath.basename(called_as), posixpath.basename(real_program)):
            handler = self.handlers.get(name) or self.handlers.get(strip_version(name))
            if handler is not None:
                return handler
        return None


def strip_version(name: str) -> str:
    """Handlers register plain names: "python3.11" and "python3" find the one for "python"."""
    return name.rstrip("0123456789.") or name


def split_options(args: list[str], options_with_value: frozenset[str] = frozenset(),
                  prefixes: str = "-") -> tuple[list[str], list[str]]:
    """A command's arguments as (options, operands), for handlers of simple command lines:
    options come first and end at `--` or at the first operand; one in `options_with_value`
    takes the next word with it. (Programs that run programs have a fuller grammar:
    slimmer.trace.programs.grammar.)"""
    options: list[str] = []
    rest = list(args)
    while rest:
        word = rest[0]
        if word == "--":
            return options, rest[1:]
        if word[:1] not in prefixes or len(word) < 2:
            break
        taken = 2 if word in options_with_value else 1
        options += rest[:taken]
        rest = rest[taken:]
    return options, rest
