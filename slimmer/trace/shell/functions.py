"""Shell functions: bodies are analysed where they are called, with the call's arguments.

So `exec "$@"` inside `_main "$@"` sees the script's arguments. Each body is analysed once per
distinct set of argument lists (at most _MAX_CALLS, then once more with unknown arguments),
never recursively, and once more at the end for functions no call reached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from tree_sitter import Node

from .fields import Field
from .flow import Flow
from .values import Positionals

_MAX_CALLS = 8  # distinct argument sets a function body is analysed with


class FunctionTable:
    """The functions of one shell process: shared by a script and the strings it evals."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        # name -> (the walker of the text it is defined in, its body)
        self.bodies: dict[str, list[tuple[Callable[[Node], None], Node]]] = {}
        self.order: list[str] = []  # names, as first defined
        self._calls: dict[str, set[tuple[Positionals, ...]]] = {}  # name -> argument sets analysed
        self._active: set[str] = set()  # on the call stack: no recursion

    def __contains__(self, name: str) -> bool:
        return name in self.bodies

    def define(self, name: str, walker: Callable[[Node], None], body: Node) -> None:
        if name not in self.bodies:
            self.order.append(name)
        self.bodies.setdefault(name, []).append((walker, body))

    def call(self, name: str, arg_lists: Sequence[list[Field]] | None) -> None:
        """Walk the body of `name` with each argument list as a possible $1..., or with unknown
        arguments (None)."""
        if name in self._active:
            return
        state = self.flow.state
        if arg_lists is None:
            positionals: tuple[Positionals, ...] = (None,)
        else:
            zeros = {p[0] if p else None for p in state.pos if p is not None} or {state.name}
            zero = zeros.pop() if len(zeros) == 1 else None
            positionals = tuple(dict.fromkeys((zero, *(f.as_value() for f in args)) for args in arg_lists))
        seen = self._calls.setdefault(name, set())
        if len(seen) >= _MAX_CALLS:
            positionals = (None,)
        if positionals in seen:
            return
        seen.add(positionals)
        saved = state.pos
        state.pos = positionals
        self._active.add(name)
        try:
            bodies = [partial(walker, body) for walker, body in self.bodies[name]]
            if len(bodies) == 1:
                bodies[0]()
            else:
                self.flow.branches(bodies, False)
        finally:
            self._active.discard(name)
            self.flow.state.pos = saved

    def call_uncalled(self) -> None:
        """Functions no reachable call analysed may still run (traps, scripts that source this one)."""
        for name in list(self.order):
            if name not in self._calls:
                self.call(name, None)
