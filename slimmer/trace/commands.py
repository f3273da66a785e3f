"""Running a command inside the image: execvp's PATH search and what interpreters' arguments mean.

An argv is traced in two steps: find the program exactly as `execvp` would inside the image,
then let the handler for that program (a shell, `env`, an init wrapper, later Python and Node)
say which of its arguments name further files or commands.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.closure import Need, TraceContext

# Docker gives a container this PATH when the image sets none (and runc searches it for argv[0]).
DOCKER_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

ArgvHandler = Callable[["CommandResolver", list[str], str, str], list[Need]]


@dataclass
class CommandResolver:
    """Turns command lines into Needs; handlers are keyed by program name (see `needs`)."""

    ctx: TraceContext
    handlers: dict[str, ArgvHandler] = field(default_factory=dict)

    @property
    def search_path(self) -> str:
        return self.ctx.env.get("PATH", DOCKER_DEFAULT_PATH)

    def find(self, name: str, cwd: str = "/") -> str | None:
        """The file `execvp(name)` runs: a name with a slash is taken as is, others are looked up
        in each PATH directory in turn (an empty entry is the current directory), skipping
        candidates that are not executable regular files, as execvp skips EACCES/ENOENT."""
        if not name:
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
        """The program of `argv` and whatever its handler finds in the arguments."""
        if not argv:
            return []
        program = self.find(argv[0], cwd)
        if program is None:
            self.ctx.warn(requester, f"{self._not_found(argv[0], cwd)} ({reason})")
            return []
        found = [Need(program, reason)]
        real = self.real_path(program)
        self.ctx.script_args.setdefault(real, list(argv[1:]))
        handler = self.handler_for(real, argv[0])
        if handler is not None:
            found.extend(handler(self, argv, reason, cwd))
        return found

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
            handler = self.handlers.get(name) or self.handlers.get(_strip_version(name))
            if handler is not None:
                return handler
        return None


def _strip_version(name: str) -> str:
    """Handlers register plain names: "python3.11" and "python3" find the one for "python"."""
    return name.rstrip("0123456789.") or name


def split_options(args: list[str], options_with_value: frozenset[str] = frozenset(),
                  prefixes: str = "-") -> tuple[list[str], list[str]]:
    """A command's arguments as (options, operands): options come first and end at `--` or at the
    first operand; one in `options_with_value` takes the next word with it."""
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


def wrapped_command(argv: list[str], options_with_value: frozenset[str] = frozenset(),
                    leading_values: int = 0) -> list[str]:
    """The command a wrapper (`nice -n 5 CMD`, `gosu USER CMD`, `tini -- CMD`) runs: skip its
    options (and the values of those that take one), then `leading_values` positional words."""
    return split_options(argv[1:], options_with_value)[1][leading_values:]


def _env_handler(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`env [-i] [-u NAME] [-S STRING] [NAME=VALUE]... COMMAND`: trace COMMAND."""
    rest = argv[1:]
    while rest:
        word = rest[0]
        if word in ("-u", "--unset", "-C", "--chdir"):
            rest = rest[2:]
        elif word in ("-S", "--split-string"):
            rest = rest[1].split() + rest[2:] if len(rest) > 1 else []
        elif word.startswith("-S"):
            rest = word[2:].split() + rest[1:]
        elif (word.startswith("-") and word != "-") or "=" in word:
            rest = rest[1:]
            if word == "--":
                break
        else:
            break
    return resolver.needs(rest, f"run by env ({reason})", cwd)


def _wrapper(options_with_value: frozenset[str] = frozenset(), leading_values: int = 0) -> ArgvHandler:
    def handler(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        inner = wrapped_command(argv, options_with_value, leading_values)
        return resolver.needs(inner, f"run by {posixpath.basename(argv[0])} ({reason})", cwd)
    return handler


# Programs that only run another program: what follows their own options is a command line.
WRAPPER_HANDLERS: dict[str, ArgvHandler] = {
    "env": _env_handler,
    "nice": _wrapper(frozenset({"-n", "--adjustment"})),
    "nohup": _wrapper(),
    "setsid": _wrapper(),
    "stdbuf": _wrapper(frozenset({"-i", "-o", "-e"})),
    "timeout": _wrapper(frozenset({"-s", "--signal", "-k", "--kill-after"}), leading_values=1),
    "tini": _wrapper(frozenset({"-p", "-e"})),
    "dumb-init": _wrapper(frozenset({"-r", "--rewrite"})),
    "gosu": _wrapper(leading_values=1),
    "su-exec": _wrapper(leading_values=1),
}
