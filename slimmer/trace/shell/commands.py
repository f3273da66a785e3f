"""Simple commands: expanded into argument lists and sent to a function, a builtin or a program.

A program name is recorded for the tracer; a name built at run time is warned
about instead of dropped.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from .builtins import KEYWORDS
from .fields import MAX_ALTS, Field, collapse, product
from .parse import split_glued_lines
from .walker import STATEMENT_KINDS, Walker

_RECOVERY_JUNK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=|\s|^[^A-Za-z0-9_./~]")


class Commands(Walker):
    """Simple commands and the names they run or look up."""

    def _command(self, node: Node) -> None:
        """A command node: its assignments, redirects and words."""
        words: list[Node] = []
        for i, c in enumerate(node.children):
            if not c.is_named:
                continue
            field = node.field_name_for_child(i)
            t = c.type
            if t == "variable_assignment":
                self._assign(c, False)
            elif field == "name":
                inner = c.named_children
                words.append(inner[0] if len(inner) == 1 else c)
            elif field == "argument":
                words.append(c)
            elif t in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                self._redirect(c)
            else:
                self._stmt(c) if t in STATEMENT_KINDS else self._expand(c, False)
        if not words:
            return
        for chunk in split_glued_lines(self.src, words):
            self._simple_command(chunk)

    def _simple_command(self, words: list[Node]) -> None:
        """Every argument list the words may expand to, at most MAX_ALTS of them."""
        lists = [self._fields(w) for w in words]
        total = 1
        for alts in lists:
            total *= len(alts)
        k = len(lists) - 1
        while total > MAX_ALTS and k >= 0:
            # too many combinations: give up on the values of the last words
            # first (they are arguments more often than command names)
            if len(lists[k]) > 1:
                total //= len(lists[k])
                lists[k] = collapse(lists[k], self.text(words[k]), self.line(words[k]))
            k -= 1
        combos = product(lists)
        for argv in combos:
            self._run(argv, "run")

    def _run(self, argv: list[Field], how: str, external_only: bool = False,
             bypass_functions: bool = False) -> None:
        """Handle one command line after expansion: record it or look inside it."""
        if not argv:
            return
        f = argv[0]
        if f.text is None:
            self.findings.warn(f.line, f"command name built at run time: {f.src}")
            return
        name = f.text
        if not name:
            return
        rest = argv[1:]
        if not external_only:
            if name == "time" and self.shell == "bash":
                while rest and rest[0].text in ("-p", "--"):
                    rest = rest[1:]
                self._run(rest, how)
                return
            if name in KEYWORDS:
                if name == "!" or (name == "coproc" and self.shell == "bash"):
                    self._run(rest, how)
                    return
                if self.in_error or name != "time":
                    return
            if not bypass_functions:
                if name in self.funcs.defs:
                    self._call(name, rest)
                    return
                if name in self.extra_functions:
                    return
            if name in self.builtins or name == "source":
                self._builtin(name, rest, how)
                return
        if self.in_error and (name in KEYWORDS or _RECOVERY_JUNK.search(name)):
            return  # pieces of syntax that error recovery took for a command
        self.record(f, how)
        self._external(name.rsplit("/", 1)[-1], rest, f)

    def _lookup(self, a: Field, via: str) -> None:
        """A name that must resolve on PATH (command -v, type, hash, which), unless the shell knows it."""
        if a.text is None:
            self.findings.warn(a.line, f"name looked up with {via} built at run time: {a.src}")
            return
        name = a.text
        if not name or name.startswith("-"):
            return
        if via != "which" and (name in self.builtins or name in KEYWORDS or name in self.funcs.defs
                               or name in self.extra_functions):
            return
        self.record(a, "lookup")
