"""Walking one text: which statements may run, and what the state is where paths join.

A Walker reads one parsed text (the script, or a string it runs as code) with its parts:
itself for the statements and their control flow, a CommandWalker for simple commands and
redirections, a WordExpander for words, Conditions for what tests and case patterns tell. A
loop body is walked once, as a branch that may not run at all; a `case` branch sees only the
values of its variable that its patterns match; an `if` whose test is known takes one way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from tree_sitter import Node

from .builtin_calls import FILE_COMPARISONS, FILE_TESTS
from .commands import CommandWalker
from .conditions import PATTERN_NODES, WORD_NODES, Conditions, may_match
from .expansion import WordExpander
from .interfaces import Lines, Shell
from .parse import function_definitions, parse
from .source import Source
from .values import MAX_LIST_VALUES, UNSET, OSet, Value

_FALLTHROUGH = frozenset({";&", ";;&"})


class Walker:
    """Walks the statements of one text in the shell process `shell`."""

    def __init__(self, shell: Shell, source: Source, quiet_errors: bool = False) -> None:
        self.shell = shell
        self.source = source
        # run-time text left out of a string can unbalance its quotes: the caller has warned
        # about the string already
        self.quiet_errors = quiet_errors
        self.in_error = False  # inside what tree-sitter could not parse
        self.words = WordExpander(source, shell, self)
        self.commands = CommandWalker(shell, source, self.words, self)
        self.conditions = Conditions(source, self.words)
        self._handlers: dict[str, Callable[[Node], None]] = {
            "program": self.sequence,
            "compound_statement": self.sequence,
            "do_group": self.sequence,
            "negated_command": self.sequence,
            "variable_assignments": self.sequence,
            "list": self._list,
            "pipeline": self._pipeline,
            "redirected_statement": self.commands.redirected,
            "command": self.commands.command,
            "variable_assignment": self.commands.assignment,
            "declaration_command": self.commands.declaration,
            "unset_command": self.commands.unset,
            "function_definition": self._nothing,  # walked where it is called
            "if_statement": self._if,
            "case_statement": self._case,
            "for_statement": self._for,
            "c_style_for_statement": self._c_style_for,
            "while_statement": self._while,
            "subshell": self._subshell,
            "test_command": self._test,
            "comment": self._nothing,
            "ERROR": self._error,
            "file_redirect": self.commands.redirect,
            "heredoc_redirect": self.commands.redirect,
            "herestring_redirect": self.commands.redirect,
        }

    def walk(self, text: str) -> None:
        """Parse and walk `text`, after collecting its function definitions."""
        roots, self.source.data = parse(text.encode("utf-8", "surrogateescape"))
        for root in roots:
            if root.has_error and not self.quiet_errors:
                self._report_errors(root)
            self._define_functions(root)
        for root in roots:
            self.statement(root)

    def _report_errors(self, root: Node) -> None:
        """Warn with the lines tree-sitter could not parse: commands there are a guess."""
        stack = [root]
        while stack:
            n = stack.pop()
            if n.is_missing:
                self.shell.findings.warn(self.source.line(n), f"syntax error: missing {n.type!r}; parsed around it")
            elif n.type == "ERROR":
                a, b = self.source.line(n), self.source.end_line(n)
                self.shell.findings.warn(a, f"could not parse lines {a}-{b}; commands found there are a best guess")
            elif n.has_error:
                stack.extend(reversed(n.children))

    def _define_functions(self, root: Node) -> None:
        """Note every definition before walking: a body may call a function defined below it."""
        for definition in function_definitions(root):
            name = definition.child_by_field_name("name")
            body = definition.child_by_field_name("body")
            if name is not None and body is not None:
                self.shell.functions.define(self.source.text(name), self.statement, body)

    # -- statements --

    def statement(self, node: Node) -> None:
        """Walk one statement with the part that handles its kind."""
        handler = self._handlers.get(node.type)
        if handler is not None:
            handler(node)
        else:
            self.generic(node)

    def sequence(self, node: Node) -> None:
        self.statements(node.named_children)

    def statements(self, nodes: list[Node]) -> None:
        for node in nodes:
            self.statement(node)

    def generic(self, node: Node) -> None:
        """An unknown or expression node: find statements and substitutions inside it."""
        for c in node.named_children:
            t = c.type
            if t in self._handlers:
                self._handlers[t](c)
            elif t == "heredoc_body":
                self.generic(c)
            elif t in ("command_substitution", "process_substitution", "expansion", "simple_expansion",
                       "string", "concatenation"):
                self.words.expand(c, False)
            elif c.named_child_count:
                self.generic(c)

    def printed_paths(self, stages: list[Node]) -> list[str] | None:
        return self.commands.printed_paths(stages)

    def _nothing(self, node: Node) -> None:
        """Comments, and function definitions (their bodies run where they are called)."""

    def _error(self, node: Node) -> None:
        """What tree-sitter could not parse: walked, but syntax fragments are not taken for commands."""
        saved = self.in_error
        self.in_error = True
        try:
            self.generic(node)
        finally:
            self.in_error = saved

    # -- control flow --

    def _list(self, node: Node) -> None:
        """a && b || c: flatten the left-nested chain; each right side may not run, except after
        a first test whose outcome is known (`[ "$1" = x ] && set -- ...`)."""
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
        self.statement(parts[0])
        operators = [c.type for c in node.children if c.type in ("&&", "||")]
        truth = self.conditions.truth([parts[0]]) if len(parts) == 2 and operators else None
        if truth is not None:
            if truth == (operators[0] == "&&"):
                self.statement(parts[1])
            return
        for p in parts[1:]:
            self.shell.flow.branches([partial(self.statement, p)], True)

    def _pipeline(self, node: Node) -> None:
        """Every stage runs in a subshell (bash, dash); the join is kept anyway, since `lastpipe`
        and zsh keep the last stage's assignments. A stage reads the output of the one before:
        known when that is the list of paths a find prints (`find DIR | sort | while read f`)."""
        stages = list(node.named_children)
        paths = self.printed_paths(stages[:-1]) if len(stages) > 1 else None
        outer = self.shell.stdin
        inputs = [outer] + [None] * (len(stages) - 1)  # a pipe: unknown, but for the paths of a find
        if paths is not None:
            inputs[-1] = Lines(tuple(paths))

        def stage(k: int) -> None:
            self.shell.stdin = inputs[k]
            try:
                self.statement(stages[k])
            finally:
                self.shell.stdin = outer

        self.shell.flow.branches([partial(stage, k) for k in range(len(stages))], True)

    def _subshell(self, node: Node) -> None:
        """( ... ): assignments inside do not outlive it."""
        self.shell.flow.isolated(lambda: self.sequence(node))

    def _if(self, node: Node) -> None:
        """if COND; then BODY (elif COND; then BODY)* (else BODY)? fi: a condition runs when the
        ones before it failed; one body at most runs."""
        self._if_clause(node, [c for c in node.children if c.type in ("elif_clause", "else_clause")])

    def _if_clause(self, clause: Node, rest: list[Node]) -> None:
        cond, body = _condition_and_body(clause)
        for c in cond:
            self.statement(c)
        truth = self.conditions.truth(cond)
        paths = [] if truth is False else [partial(self.statements, body)]
        paths += [] if truth is True else [partial(self._otherwise, rest)]
        self.shell.flow.branches(paths, False)

    def _otherwise(self, clauses: list[Node]) -> None:
        if not clauses:
            return
        if clauses[0].type == "else_clause":
            self.sequence(clauses[0])
        else:
            self._if_clause(clauses[0], clauses[1:])

    def _case(self, node: Node) -> None:
        """case WORD in PATTERNS) BODY;; ... esac: when WORD is a variable or a positional
        parameter, each body sees the values its patterns match that no earlier pattern took;
        a body no value reaches is skipped."""
        value = node.child_by_field_name("value")
        if value is not None:
            self.words.expand(value, True)
        subject = self._case_subject(value)
        items = [c for c in node.named_children if c.type == "case_item"]
        if any(c.type in _FALLTHROUGH for item in items for c in item.children):
            subject = None
        values = self._subject_values(subject)
        remaining = list(range(len(values)))  # which possible values no earlier pattern took
        bodies: list[Callable[[], object]] = []
        for item in items:
            statements = [c for i, c in enumerate(item.children)
                          if c.is_named and item.field_name_for_child(i) != "value" and c.type not in PATTERN_NODES]
            patterns = self.conditions.case_patterns(item) if subject is not None else None
            if subject is None or patterns is None:
                bodies.append(partial(self.statements, statements))
                continue
            matching = {k for k in remaining if may_match(values[k], patterns)}
            remaining = [k for k in remaining if k not in matching or not isinstance(values[k], str)]
            if matching:
                bodies.append(partial(self._case_body, subject, sorted(matching), statements))
        self.shell.flow.branches(bodies, True)

    def _case_subject(self, value: Node | None) -> str | int | None:
        """What a case word is exactly: a variable (`$f`, `"$f"`, `${f}`) or a positional
        parameter (`"$1"`), by name or number."""
        while value is not None and value.type == "string" and value.named_child_count == 1:
            value = value.named_children[0]
        if value is None or not (value.type == "simple_expansion" or
                                 (value.type == "expansion" and value.named_child_count == 1)):
            return None
        name = value.named_children[0] if value.named_children else None
        if name is None:
            return None
        text = self.source.text(name)
        if text.isdigit():
            return int(text)
        return text if name.type == "variable_name" else None

    def _subject_values(self, subject: str | int | None) -> list[Value]:
        """The possible values of a variable, or of a positional parameter in each argument list."""
        state = self.shell.flow.state
        if subject is None:
            return []
        if isinstance(subject, str):
            return list(state.get(subject))
        return [None if p is None else p[subject] if subject < len(p) else UNSET for p in state.pos]

    def _case_body(self, subject: str | int, taken: list[int], statements: list[Node]) -> None:
        """A case branch, with the subject restricted to the values (by index) that reach it."""
        state = self.shell.flow.state
        if isinstance(subject, str):
            values = state.get(subject)
            state.set(subject, [values[k] for k in taken], limit=MAX_LIST_VALUES)
        else:
            state.pos = tuple(state.pos[k] for k in taken)
        self.statements(statements)

    def _for(self, node: Node) -> None:
        """for NAME in WORDS; do ...: NAME takes each word (globs expanded to the files they match)."""
        var = node.child_by_field_name("variable")
        values: OSet = OSet()
        if any(c.type == "in" for c in node.children):
            for i, c in enumerate(node.children):
                if node.field_name_for_child(i) == "value":
                    for alt in self.words.fields(c):
                        values.update(f.as_value() for f in alt)
        else:
            values.update(self._positional_values())
        body = node.child_by_field_name("body")
        if any(c.type == "in" for c in node.children) and not values:
            return  # an empty list: the body never runs

        def run() -> None:
            if var is not None:
                self.shell.flow.state.set(self.source.text(var), values or {UNSET}, limit=MAX_LIST_VALUES)
            if body is not None:
                self.statement(body)

        self.shell.flow.branches([run], True)

    def _positional_values(self) -> OSet:
        """What `for x; do` loops over: $1, $2, ... of every possible argument list."""
        values: OSet = OSet()
        for p in self.shell.flow.state.pos:
            if p is None:
                values.add(None)
            else:
                values.update(p[1:])
        return values

    def _while(self, node: Node) -> None:
        """while / until: the condition runs, the body may not (and cannot when the condition
        reads a pipe that carries no line)."""
        body = node.child_by_field_name("body")
        for c in node.named_children:
            if c != body:
                self.statement(c)
        stdin = self.shell.stdin
        if isinstance(stdin, Lines) and not stdin.values and _reads_a_line(node, self.source):
            return
        if body is not None:
            self.shell.flow.branches([lambda: self.statement(body)], True)

    def _c_style_for(self, node: Node) -> None:
        self.shell.flow.branches([lambda: self.generic(node)], True)

    def _test(self, node: Node) -> None:
        """[ ... ] and [[ ... ]]: file tests name paths the shell stats; substitutions run."""
        self.generic(node)
        stack = [node]
        while stack:
            n = stack.pop()
            stack.extend(n.named_children)
            operator = n.child_by_field_name("operator")
            if operator is None:
                continue
            op = self.source.text(operator)
            if n.type == "unary_expression" and op in FILE_TESTS:
                operands = [c for c in n.named_children if c != operator and c.type in WORD_NODES]
            elif n.type == "binary_expression" and op in FILE_COMPARISONS:
                operands = [c for c in (n.child_by_field_name("left"), n.child_by_field_name("right"))
                            if c is not None and c.type in WORD_NODES]
            else:
                continue
            for operand in operands:
                for fields in self.words.fields(operand):
                    for f in fields:
                        self.shell.read_path(f)


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


def _reads_a_line(loop: Node, source: Source) -> bool:
    """Whether a while loop's condition is `read ...`."""
    condition = loop.child_by_field_name("condition")
    if condition is None or condition.type != "command":
        return False
    name = condition.child_by_field_name("name")
    return name is not None and source.text(name) == "read"
