"""Control flow: which statements may run, and what the state is where paths join.

Each path that may run is walked from a copy of the state; where paths meet, a
variable holds every value any path may leave (values.merge).  A loop body is
walked once, as a branch that may not run at all.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from .values import UNSET, OSet, State, merge
from .walker import Walker


class ControlFlow(Walker):
    """Statements, lists, pipelines, subshells, if, case and loops."""

    def _stmt(self, node: Node) -> None:
        """Walk one statement with the part of the analyser that handles its kind."""
        h = self.handlers.get(node.type)
        if h is not None:
            h(node)
        else:
            self._generic(node)

    def _nothing(self, node: Node) -> None:
        """Comments."""

    def _generic(self, node: Node) -> None:
        """Unknown or expression node: find statements and substitutions inside it."""
        for c in node.named_children:
            t = c.type
            if t in self.handlers:
                self.handlers[t](c)
            elif t in ("command_substitution", "process_substitution", "expansion",
                       "simple_expansion", "string", "concatenation", "heredoc_body"):
                if t == "heredoc_body":
                    self._generic(c)
                else:
                    self._expand(c, False)
            elif c.named_child_count:
                self._generic(c)

    def _seq(self, node: Node) -> None:
        for c in node.named_children:
            self._stmt(c)

    def _branches(self, bodies: list[Callable[[], None]], fallthrough: bool) -> None:
        """Run alternative paths from the current state and join their results."""
        pre = self.state
        outs = [pre] if fallthrough else []
        for body in bodies:
            self.state = pre.copy()
            body()
            outs.append(self.state)
        self.state = merge(outs) if outs else pre

    def _list(self, node: Node) -> None:
        # a && b || c: flatten the left-nested chain; each right side may not run
        parts: list[Node] = []
        n = node
        while n.type == "list":
            named = n.named_children
            if not named:
                break
            if len(named) > 1:
                parts.extend(reversed(named[1:]))
            n = named[0]
        parts.append(n)
        parts.reverse()
        self._stmt(parts[0])
        for p in parts[1:]:
            self._branches([lambda p=p: self._stmt(p)], True)

    def _pipeline(self, node: Node) -> None:
        # every stage runs in a subshell (bash, dash); keep the join anyway,
        # since `lastpipe` and zsh keep the last stage's assignments
        stages = list(node.named_children)
        self._branches([lambda c=c: self._stmt(c) for c in stages], True)

    def _subshell(self, node: Node) -> None:
        """( ... ): assignments inside do not outlive it."""
        saved = self.state
        self.state = saved.copy()
        self._seq(node)
        self.state = saved

    def _if(self, node: Node) -> None:
        # children: if COND... then BODY... (elif_clause)* (else_clause)? fi
        cond, body = _condition_and_body(node)
        clauses = [c for c in node.children if c.type in ("elif_clause", "else_clause")]
        for c in cond:
            self._stmt(c)
        pre = self.state
        outs: list[State] = []
        self.state = pre.copy()
        for c in body:
            self._stmt(c)
        outs.append(self.state)
        self.state = pre
        has_else = False
        for cl in clauses:
            if cl.type == "else_clause":
                has_else = True
                self.state = self.state.copy()
                for c in cl.named_children:
                    self._stmt(c)
                outs.append(self.state)
                continue
            ccond, cbody = _condition_and_body(cl)
            self.state = self.state.copy()
            for c in ccond:
                self._stmt(c)
            after_cond = self.state
            self.state = after_cond.copy()
            for c in cbody:
                self._stmt(c)
            outs.append(self.state)
            self.state = after_cond
        if not has_else:
            outs.append(self.state)
        self.state = merge(outs)

    def _case(self, node: Node) -> None:
        value = node.child_by_field_name("value")
        if value is not None:
            self._expand(value, True)
        bodies = []
        for item in node.named_children:
            if item.type != "case_item":
                continue
            stmts = self._case_body(item)
            bodies.append(lambda s=stmts: [self._stmt(c) for c in s])
        self._branches(bodies, True)

    def _case_body(self, item: Node) -> list[Node]:
        """The statements of a case item, without its patterns."""
        stmts = []
        for i, c in enumerate(item.children):
            if not c.is_named or item.field_name_for_child(i) == "value":
                continue
            if c.type in ("extglob_pattern", "word", "string", "raw_string", "concatenation"):
                # patterns tree-sitter did not label as `value`
                continue
            stmts.append(c)
        return stmts

    def _for(self, node: Node) -> None:
        var = node.child_by_field_name("variable")
        values: OSet = OSet()
        has_in = any(c.type == "in" for c in node.children)
        if has_in:
            for i, c in enumerate(node.children):
                if node.field_name_for_child(i) == "value":
                    for alt in self._fields(c):
                        for f in alt:
                            values.add(f.as_value())
        else:
            values.update(self._positional_values())
        body = node.child_by_field_name("body")

        def run() -> None:
            if var is not None:
                self.state.set(self.text(var), values or {UNSET})
            if body is not None:
                self._stmt(body)

        self._branches([run], True)

    def _positional_values(self) -> OSet:
        """What `for x; do` loops over: $1, $2, ... of every possible argument list."""
        vals: OSet = OSet()
        for p in self.state.pos:
            if p is None:
                vals.add(None)
            else:
                vals.update(p[1:])
        return vals

    def _while(self, node: Node) -> None:
        """while / until: the condition runs, the body may not."""
        body = node.child_by_field_name("body")
        for c in node.named_children:
            if c != body:
                self._stmt(c)
        if body is not None:
            self._branches([lambda: self._stmt(body)], True)

    def _c_style_for(self, node: Node) -> None:
        self._branches([lambda: self._generic(node)], True)

    def _error(self, node: Node) -> None:
        """What tree-sitter could not parse: walked, but syntax fragments are not taken for commands."""
        saved = self.in_error
        self.in_error = True
        try:
            self._generic(node)
        finally:
            self.in_error = saved


def _condition_and_body(node: Node) -> tuple[list[Node], list[Node]]:
    """Statements before and after `then` in an if or elif clause (nested clauses left out)."""
    cond: list[Node] = []
    body: list[Node] = []
    phase = 0
    for c in node.children:
        t = c.type
        if t == "then":
            phase = 1
        elif t in ("elif_clause", "else_clause"):
            continue
        elif c.is_named:
            (cond if phase == 0 else body).append(c)
    return cond, body
