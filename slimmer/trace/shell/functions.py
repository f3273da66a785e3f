"""Shell functions: bodies are analysed where they are called, with the call's arguments.

So `exec "$@"` inside `_main "$@"` sees the script's arguments.  Each body is
analysed once per distinct argument list (at most _MAX_CALLS), never recursively,
and once more at the end for functions no call reached.
"""

from __future__ import annotations

from tree_sitter import Node

from .fields import Field
from .values import Positionals
from .walker import Walker

_MAX_CALLS = 8  # distinct argument lists a function body is analysed with


class FunctionCalls(Walker):
    """Function definitions and calls."""

    def _collect_functions(self, root: Node) -> None:
        """Note every definition before walking: a body may call a function defined below it."""
        stack = [root]
        while stack:
            n = stack.pop()
            if n.type == "function_definition":
                name_node = n.child_by_field_name("name")
                if name_node is not None:
                    name = self.text(name_node)
                    if name not in self.funcs.defs:
                        self.funcs.order.append(name)
                    self.funcs.defs.setdefault(name, []).append((self, n))
            stack.extend(reversed(n.children))

    def _function_def(self, node: Node) -> None:
        """Nothing to walk: the body runs where the function is called (see _call).

        Redirects here apply at call time and hold no commands worth a separate walk.
        """

    def _call(self, name: str, args: list[Field] | None) -> None:
        """Analyse a function's body with its arguments as $1..."""
        funcs = self.funcs
        if name in funcs.active:
            return
        if args is None:
            pos: Positionals = None
        else:
            dollar0 = {p[0] if p else None for p in self.state.pos if p is not None}
            zero = dollar0.pop() if len(dollar0) == 1 else None
            pos = (zero, *(f.as_value() for f in args))
        seen = funcs.calls.setdefault(name, set())
        if pos in seen or len(seen) >= _MAX_CALLS:
            return
        seen.add(pos)
        saved_pos = self.state.pos
        self.state.pos = (pos,)
        funcs.active.add(name)
        try:
            bodies = []
            for owner, d in funcs.defs[name]:
                body = d.child_by_field_name("body")
                if body is not None:
                    bodies.append(lambda o=owner, b=body: self._in_owner(o, b))
            if len(bodies) == 1:
                bodies[0]()
            else:
                self._branches(bodies, False)
        finally:
            funcs.active.discard(name)
            self.state.pos = saved_pos

    def _in_owner(self, owner: Walker, node: Node) -> None:
        """Walk a node of another text (a function defined in an eval'd string)."""
        if owner is self:
            self._stmt(node)
            return
        owner.state = self.state
        owner._stmt(node)
        self.state = owner.state

    def finish(self) -> None:
        """Analyse functions no reachable call analysed: they may still run (traps, sourcing scripts)."""
        for name in list(self.funcs.order):
            if name not in self.funcs.calls:
                self._call(name, None)
