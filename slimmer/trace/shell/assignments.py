"""What changes variables and positional parameters.

Assignments, declarations, unset, the builtins that read values in (read,
getopts, printf -v), set -- and shift.  A value known from the text is kept;
a value known only at run time is None.
"""

from __future__ import annotations

from tree_sitter import Node

from .fields import Field, join_value, product
from .values import ASSIGNMENT, MAX_VALUES, UNSET, VARIABLE_NAME, OSet, append_value, uniq
from .walker import Walker


class Assignments(Walker):
    """Assignments and the builtins that set variables or positional parameters."""

    def _assign_stmt(self, node: Node) -> None:
        """NAME=value as a statement of its own."""
        self._assign(node, True)

    def _assign(self, node: Node, apply: bool) -> None:
        """NAME=value, NAME+=value, NAME=(array); not applied before a command (`X=1 cmd`).

        The value is expanded either way: its substitutions run.
        """
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        append = any(c.type == "+=" for c in node.children)
        values: OSet = OSet()
        if value_node is None:
            values.add("")
        elif value_node.type == "array":
            lists = [self._fields(c) for c in value_node.named_children]
            combos = product(lists, MAX_VALUES)
            for combo in combos:
                values.add(tuple(f.text for f in combo))
        else:
            for alt in self._expand(value_node, True):
                values.add(join_value(alt))
        if not apply or name_node is None:
            return
        if name_node.type != "variable_name":
            # a[i]=x: element assignment; the array is no longer known
            sub = name_node.child_by_field_name("name")
            if sub is not None:
                self.state.set(self.text(sub), {None})
            return
        name = self.text(name_node)
        if append:
            old = self.state.get(name)
            new: OSet = OSet()
            for o in old:
                for v in values:
                    new.add(append_value(o, v))
            values = new
        self.state.set(name, values)

    def _declaration(self, node: Node) -> None:
        """local/export/declare/readonly as parsed by tree-sitter."""
        for c in node.named_children:
            if c.type == "variable_assignment":
                self._assign(c, True)
            elif c.type not in ("variable_name",):
                self._expand(c, False)

    def _unset(self, node: Node) -> None:
        """unset [-v] NAME...; `unset -f` removes functions and leaves variables alone."""
        funcs = False
        for c in node.named_children:
            t = self.text(c)
            if t == "-f":
                funcs = True
            elif t.startswith("-"):
                continue
            elif not funcs and VARIABLE_NAME.match(t):
                self.state.set(t, {UNSET})

    def _declare_builtin(self, args: list[Field]) -> None:
        """local/export/declare/typeset/readonly NAME=value, when not parsed as a declaration."""
        for a in args:
            m = ASSIGNMENT.match(a.text) if a.text is not None else None
            if m:
                self.state.set(m.group(1), {m.group(3)})

    def _unset_builtin(self, args: list[Field]) -> None:
        """unset NAME, when not parsed as an unset command (`builtin unset`)."""
        for a in args:
            if a.text is not None and VARIABLE_NAME.match(a.text):
                self.state.set(a.text, {UNSET})

    def _builtin_sets_vars(self, name: str, args: list[Field]) -> None:
        """read/getopts/mapfile/printf -v leave run-time values in their variables."""
        names: list[str] = []
        if name == "printf":
            for i, a in enumerate(args[:-1]):
                if a.text == "-v" and args[i + 1].text:
                    names.append(args[i + 1].text)
        elif name == "getopts":
            if len(args) >= 2 and args[1].text:
                names.append(args[1].text)
        else:
            skip_next = False
            opts_with_arg = {"-d", "-n", "-N", "-p", "-t", "-u", "-i", "-C", "-c", "-O", "-s"}
            for a in args:
                if skip_next:
                    skip_next = False
                    continue
                if a.text is None:
                    continue
                if a.text.startswith("-"):
                    skip_next = a.text in opts_with_arg  # `read -a NAME`: NAME is kept
                    continue
                names.append(a.text)
            if not names and name == "read":
                names.append("REPLY")
            if not names:
                names.append("MAPFILE")
        for n in names:
            if VARIABLE_NAME.match(n):
                self.state.set(n, {None})

    def _set_builtin(self, args: list[Field]) -> None:
        """set [options] [--] ARGS: ARGS replace the positional parameters; options alone do not."""
        i = 0
        new_pos = False
        while i < len(args):
            t = args[i].text
            if t is None:
                self.state.pos = (None,)
                return
            if t == "--":
                i += 1
                new_pos = True
                break
            if t.startswith(("-", "+")) and len(t) > 1:
                i += 2 if "o" in t[1:] else 1  # -o NAME, -eo NAME
                continue
            new_pos = True
            break
        if not new_pos:
            return
        rest = tuple(a.as_value() for a in args[i:])
        self.state.pos = uniq((p[0] if p else None,) + rest if p is not None else (None,) + rest
                              for p in self.state.pos)

    def _shift(self, args: list[Field]) -> None:
        """shift [N]: drops positional parameters."""
        n = 1
        if args and args[0].text is not None and args[0].text.isdigit():
            n = int(args[0].text)
        elif args:
            self.state.pos = (None,)
            return
        self.state.pos = uniq(None if p is None else (p[:1] + p[1 + n:]) for p in self.state.pos)
