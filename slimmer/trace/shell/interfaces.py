"""What the parts of the analyser may ask of the shell process whose code they walk.

The process (process.ShellProcess) owns the parts: the walker of each text it runs, the
builtins, the function table. The parts reach back to it only through `Shell`, so each can be
read on its own and the modules import one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .dialects import ShellDialect
from .fields import Field
from .files import FileQuery
from .flow import Flow
from .functions import FunctionTable
from .results import Findings, UseKind
from .values import Positionals


@dataclass(frozen=True)
class HereDocument:
    """A here-document given to the command being walked."""

    text: str
    line: int
    static: bool  # holds no expansion


@dataclass(frozen=True)
class Lines:
    """A standard input known line by line: the paths a `find` prints into a pipe."""

    values: tuple[str, ...]


Stdin = HereDocument | Lines


class Shell(Protocol):
    dialect: ShellDialect
    flow: Flow  # variables and positional parameters of the path being walked
    findings: Findings
    files: FileQuery
    functions: FunctionTable
    stdin: Stdin | None  # what the statement being walked reads

    def run(self, argv: list[Field], kind: UseKind, *, external_only: bool = False,
            bypass_functions: bool = False) -> None:
        """One command line after expansion: a keyword, a function, a builtin or a program."""
        ...

    def run_lines(self, argvs: list[list[Field]], kind: UseKind) -> None:
        """Every argument list one command's words may give."""
        ...

    def run_code(self, code: Field, what: str | None, new_shell: ShellDialect | None = None,
                 positionals: Positionals = None) -> None:
        """Shell code held in a string, run in this process or in a new shell."""
        ...

    def lookup(self, name: Field, via: str) -> None:
        """A name that must resolve in PATH, unless the shell knows it."""
        ...

    def read_path(self, path: Field, kind: UseKind = UseKind.READ) -> None:
        """A path the shell itself opens, tests, lists or writes."""
        ...
