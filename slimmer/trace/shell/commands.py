"""Simple commands, assignments and redirections of one text.

A command's words are expanded into every argument list they may give and handed to the shell
process (a function, a builtin, or a program it reports); assignments change the process's
variables; redirections name files the shell opens and may feed a here-document to a shell.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Protocol

from tree_sitter import Node

from .dialects import KEYWORDS
from .expansion import WordExpander
from .fields import MAX_ALTS, Field, collapse, join_text, join_value, product
from .interfaces import HereDocument, Lines, Shell, Stdin
from .parse import heredoc_backquotes, split_glued_lines
from .results import UseKind
from .source import Source
from .values import MAX_VALUES, UNSET, VARIABLE_NAME, OSet, append_value

_RECOVERY_JUNK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=|\s|^[^A-Za-z0-9_./~]")
# Node types that are statements wherever they appear (inside a command or a redirect too).
STATEMENT_KINDS = frozenset(
    "program compound_statement do_group list pipeline negated_command redirected_statement "
    "command variable_assignment variable_assignments declaration_command unset_command "
    "function_definition if_statement case_statement for_statement c_style_for_statement "
    "while_statement subshell test_command ERROR".split()
)
# Programs whose output lines are some of their input lines: a list of paths stays one.
_LINE_FILTERS = frozenset({"sort", "uniq", "grep", "egrep", "fgrep", "head", "tail", "tac", "cat"})
_READS = frozenset({"<", "<>"})
_WRITES = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})


class Statements(Protocol):
    """The walker of the text, for the statements nested in commands and redirections."""

    in_error: bool

    def statement(self, node: Node) -> None: ...

    def generic(self, node: Node) -> None: ...


class CommandWalker:
    """Commands, assignments and redirections of one text."""

    def __init__(self, shell: Shell, source: Source, words: WordExpander, statements: Statements) -> None:
        self.shell = shell
        self.source = source
        self.words = words
        self.statements = statements

    # -- commands --

    def command(self, node: Node) -> None:
        """A command node: its assignments, redirects and words."""
        words: list[Node] = []
        for i, c in enumerate(node.children):
            if not c.is_named:
                continue
            field = node.field_name_for_child(i)
            t = c.type
            if field in ("name", "argument"):
                words.append(_word(c, field))
            elif t == "variable_assignment":
                self._assign(c, False)
            elif t in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                self.redirect(c)
            elif t in STATEMENT_KINDS:
                self.statements.statement(c)
            else:
                self.words.expand(c, False)
        if not words:
            return
        for chunk in split_glued_lines(self.source.data, words):
            self._simple_command(chunk)

    def _argument_lists(self, words: list[Node]) -> list[list[Field]]:
        """Every argument list the words may give. One word may give many (a loop variable over
        files); past MAX_ALTS combinations, the last words give up their values first (they are
        arguments more often than command names)."""
        lists = [self.words.fields(w) for w in words]
        cap = max([MAX_ALTS, *(len(alts) for alts in lists)])
        total = 1
        for alts in lists:
            total *= len(alts)
        k = len(lists) - 1
        while total > cap and k >= 0:
            if len(lists[k]) > 1:
                total //= len(lists[k])
                lists[k] = collapse(lists[k], self.source.text(words[k]), self.source.line(words[k]))
            k -= 1
        return product(lists, cap)

    def _simple_command(self, words: list[Node]) -> None:
        argvs = self._argument_lists(words)
        if self.statements.in_error:
            argvs = [argv for argv in argvs if argv and not _syntax_junk(argv[0])]
        self.shell.run_lines(argvs, UseKind.RUN)

    def printed_paths(self, stages: list[Node]) -> list[str] | None:
        """The paths `find ...` prints, through filters that only drop or reorder lines
        (`find DIR -name '*.sh' | sort`); None when the stages are not such a pipeline or the
        paths cannot be told."""
        if not stages or any(s.type != "command" for s in stages):
            return None
        first, *filters = (self._words_of(s) for s in stages)
        if any(not w or posixpath.basename(self.source.text(w[0])) not in _LINE_FILTERS for w in filters):
            return None
        if not first or posixpath.basename(self.source.text(first[0])) != "find":
            return None
        found: list[str] = []
        for argv in self._argument_lists(first):
            if any(f.text is None for f in argv):
                return None
            paths = self.shell.files.find([f.text for f in argv[1:] if f.text is not None])
            if paths is None:
                return None
            found.extend(paths)
        return list(dict.fromkeys(found))

    def _words_of(self, node: Node) -> list[Node]:
        """The words of a command node, its name first."""
        return [_word(c, field) for i, c in enumerate(node.children)
                if (field := node.field_name_for_child(i)) in ("name", "argument")]

    # -- assignments --

    def assignment(self, node: Node) -> None:
        """NAME=value as a statement of its own."""
        self._assign(node, True)

    def _assign(self, node: Node, apply: bool) -> None:
        """NAME=value, NAME+=value, NAME=(array); not applied before a command (`X=1 cmd`).

        The value is expanded either way: its substitutions run.
        """
        state = self.shell.flow.state
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        append = any(c.type == "+=" for c in node.children)
        values: OSet = OSet()
        if value_node is None:
            values.add("")
        elif value_node.type == "array":
            lists = [self.words.fields(c) for c in value_node.named_children]
            for combo in product(lists, MAX_VALUES):
                values.add(tuple(f.text for f in combo))
        else:
            for alt in self.words.expand(value_node, True):
                values.add(join_value(alt))
        if not apply or name_node is None:
            return
        if name_node.type != "variable_name":
            # a[i]=x: element assignment; the array is no longer known
            sub = name_node.child_by_field_name("name")
            if sub is not None:
                state.set(self.source.text(sub), {None})
            return
        name = self.source.text(name_node)
        if append:
            values = OSet(append_value(o, v) for o in state.get(name) for v in values)
        state.set(name, values)

    def declaration(self, node: Node) -> None:
        """local/export/declare/readonly as parsed by tree-sitter."""
        for c in node.named_children:
            if c.type == "variable_assignment":
                self._assign(c, True)
            elif c.type != "variable_name":
                self.words.expand(c, False)

    def unset(self, node: Node) -> None:
        """unset [-v] NAME...; `unset -f` removes functions and leaves variables alone."""
        functions = False
        for c in node.named_children:
            t = self.source.text(c)
            if t == "-f":
                functions = True
            elif not t.startswith("-") and not functions and VARIABLE_NAME.match(t):
                self.shell.flow.state.set(t, {UNSET})

    # -- redirections --

    def redirected(self, node: Node) -> None:
        """A statement with redirects: a here-document, or the paths a find prints through a
        process substitution (`done < <(find ...)`), is the body's standard input."""
        body = node.child_by_field_name("body")
        stdin = self.shell.stdin
        for c in node.named_children:
            if c.type == "heredoc_redirect":
                stdin = self._heredoc(c) or stdin
            elif c.type == "file_redirect" and _operator(c) == "<":
                stdin = self._substituted_lines(c) or stdin
        if body is not None:
            with self._stdin(stdin):
                self.statements.statement(body)
        for c in node.named_children:
            if c != body:
                self.statements.statement(c)

    @contextmanager
    def _stdin(self, stdin: Stdin | None) -> Iterator[None]:
        saved = self.shell.stdin
        self.shell.stdin = stdin
        try:
            yield
        finally:
            self.shell.stdin = saved

    def _heredoc(self, redirect: Node) -> HereDocument | None:
        for c in redirect.named_children:
            if c.type == "heredoc_body":
                static = all(k.type == "heredoc_content" for k in c.named_children)
                return HereDocument(self.source.text(c), self.source.line(c), static)
        return None

    def _substituted_lines(self, redirect: Node) -> Stdin | None:
        target = redirect.child_by_field_name("destination")
        if target is None or target.type != "process_substitution" or target.named_child_count != 1:
            return None
        inner = target.named_children[0]
        paths = self.printed_paths(inner.named_children if inner.type == "pipeline" else [inner])
        return None if paths is None else Lines(tuple(paths))

    def redirect(self, node: Node) -> None:
        """A redirect opens a file (read or written by the shell itself); its target may hold
        substitutions, and an unquoted here-document may hold them too."""
        quoted = False
        operator = _operator(node)
        target_seen = False  # tree-sitter takes the command's next words for more destinations
        for c in node.named_children:
            t = c.type
            if t == "heredoc_start":
                quoted = any(q in self.source.text(c) for q in "'\"\\")
            elif t in ("heredoc_end", "file_descriptor", "heredoc_content"):
                continue
            elif t == "heredoc_body":
                if not quoted:
                    self._heredoc_body(c)
            elif t in STATEMENT_KINDS:
                self.statements.statement(c)
            elif node.type == "file_redirect" and not target_seen:
                target_seen = True
                if t != "number":
                    self._redirect_target(c, operator)
            else:
                self.words.expand(c, False)

    def _redirect_target(self, target: Node, operator: str) -> None:
        for alt in self.words.expand(target, False):
            text = join_text(alt)
            if text is None or (operator in (">&", "<&") and (text.isdigit() or text == "-")):
                continue
            path = Field.static(text, self.source.line(target), col=self.source.col(target))
            if operator in _READS:
                self.shell.read_path(path, UseKind.READ)
            if operator in _WRITES:
                self.shell.read_path(path, UseKind.WRITE)

    def _heredoc_body(self, body: Node) -> None:
        """Substitutions in an unquoted here-document, backquoted commands included."""
        self.statements.generic(body)
        for inner, at in heredoc_backquotes(self.source.data, body):
            code = Field.static(inner, self.source.line_at(at), col=self.source.col_at(at))
            self.shell.flow.isolated(partial(self.shell.run_code, code, None))


def _word(node: Node, field: str | None) -> Node:
    """A command's word: its name is wrapped in a command_name node."""
    return node.named_children[0] if field == "name" and node.named_child_count == 1 else node


def _operator(redirect: Node) -> str:
    """The operator of a file redirect: `<`, `>`, `>>`, `&>`, ..."""
    return "".join(c.type for c in redirect.children if not c.is_named and c.type not in ("ERROR",))


def _syntax_junk(name: Field) -> bool:
    """Pieces of syntax that error recovery took for a command."""
    return name.text is not None and (name.text in KEYWORDS or bool(_RECOVERY_JUNK.search(name.text)))
