"""What every part of the shell analyser shares while it walks one text.

The analyser (analyzer.Analyzer) is one class assembled from parts, a module
each: control flow, redirections, functions, assignments, simple commands,
builtins, external programs, words and parameter expansion.  The parts read
and change the walk through the attributes set here, and call each other
through the methods declared at the end of Walker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tree_sitter import Node

from .builtins import BUILTINS

if TYPE_CHECKING:
    from .fields import Alt, Field
    from .results import Findings
    from .values import State

# Node types that are statements wherever they appear (inside a command or a redirect too).
STATEMENT_KINDS = frozenset(
    "program compound_statement do_group list pipeline negated_command redirected_statement "
    "command variable_assignment variable_assignments declaration_command unset_command "
    "function_definition if_statement case_statement for_statement c_style_for_statement "
    "while_statement subshell test_command ERROR".split()
)


class FunctionTable:
    """Functions of one shell process: shared by a script and the strings it evals."""

    def __init__(self) -> None:
        self.defs: dict[str, list[tuple[Walker, Node]]] = {}  # name -> (owning text, node)
        self.order: list[str] = []
        self.calls: dict[str, set] = {}  # name -> argument lists analysed
        self.active: set[str] = set()  # on the call stack: no recursion


class Walker:
    """The walk over one parsed text (the script, or an eval / sh -c string)."""

    def __init__(
        self,
        findings: Findings,
        shell: str,
        state: State,
        extra_functions: set[str],
        line_offset: int,
        depth: int,
        col_offset: int = 0,
        funcs: FunctionTable | None = None,
    ) -> None:
        self.findings = findings
        self.shell = shell
        self.builtins = BUILTINS[shell]
        self.state = state
        self.extra_functions = extra_functions
        self.line_offset = line_offset
        self.col_offset = col_offset  # where the text starts on its first line
        self.depth = depth
        # eval'd strings share the function table of the script that evals them
        self.funcs = FunctionTable() if funcs is None else funcs
        self.in_error = False
        # run-time text left out of a string can unbalance its quotes: the
        # caller has warned about the string already
        self.quiet_parse_errors = False
        # a here-document fed to the command being walked: (text, line, static)
        self.stdin_script: tuple[str, int, bool] | None = None
        self.src = b""
        self.handlers: dict[str, Callable[[Node], None]] = self._statement_handlers()

    def text(self, node: Node) -> str:
        return self.src[node.start_byte:node.end_byte].decode("utf-8", "surrogateescape")

    def line(self, node: Node) -> int:
        return node.start_point[0] + 1 + self.line_offset

    def col(self, node: Node) -> int:
        row, col = node.start_point
        return col + self.col_offset if row == 0 else col

    def record(self, f: Field, how: str) -> None:
        self.findings.record(f.text, f.line, how, f.glob, f.col)  # type: ignore[arg-type]

    if TYPE_CHECKING:
        # control.py
        def _stmt(self, node: Node) -> None: ...
        def _generic(self, node: Node) -> None: ...
        def _seq(self, node: Node) -> None: ...
        def _branches(self, bodies: list[Callable[[], None]], fallthrough: bool) -> None: ...

        # redirects.py
        def _redirect(self, node: Node) -> None: ...

        # functions.py
        def _call(self, name: str, args: list[Field] | None) -> None: ...

        # assignments.py
        def _assign(self, node: Node, apply: bool) -> None: ...
        def _builtin_sets_vars(self, name: str, args: list[Field]) -> None: ...
        def _declare_builtin(self, args: list[Field]) -> None: ...
        def _unset_builtin(self, args: list[Field]) -> None: ...
        def _set_builtin(self, args: list[Field]) -> None: ...
        def _shift(self, args: list[Field]) -> None: ...

        # commands.py
        def _run(self, argv: list[Field], how: str, external_only: bool = False,
                 bypass_functions: bool = False) -> None: ...

        def _lookup(self, a: Field, via: str) -> None: ...

        # builtin_calls.py
        def _builtin(self, name: str, args: list[Field], how: str) -> None: ...

        # programs.py
        def _external(self, base: str, args: list[Field], prog: Field) -> None: ...

        # words.py
        def _fields(self, node: Node) -> list[list[Field]]: ...
        def _expand(self, node: Node, dq: bool) -> list[Alt]: ...

        # parameters.py
        def _simple_expansion(self, node: Node, dq: bool) -> list[Alt]: ...
        def _expansion(self, node: Node, dq: bool) -> list[Alt]: ...

        # analyzer.py
        def _statement_handlers(self) -> dict[str, Callable[[Node], None]]: ...

        def _analyse_string(self, code: Field, shell: str, same_state: bool, what: str | None,
                            pos: tuple | None = None) -> None: ...
