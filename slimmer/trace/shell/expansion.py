"""Word expansion: the alternatives a word may expand to, and the fields they split into.

Quoting, tilde, strings, concatenations, command substitutions and pathname expansion are
handled here; variables and ${...} by the ParameterExpander. Expanding a word also walks the
command substitutions in it, through the walker of its text.
"""

from __future__ import annotations

import re
from typing import Protocol

from tree_sitter import Node

from slimmer.trace.argv import Piece

from .fields import Alt, Field, Segment, dynamic_word, product_or_dynamic, split_fields
from .interfaces import Shell
from .parameters import ParameterExpander
from .quoting import unescape_ansi, unescape_dquoted, unescape_unquoted
from .results import UseKind
from .source import Source

# `$(command -v X)`: the value is wherever X resolves; running it runs X, so it carries X's name.
_LOOKUP_SUBST = re.compile(
    r"\s*(?:command\s+-v|which|type\s+-[pP])\s+['\"]?([A-Za-z0-9_./+-]+)['\"]?\s*(?:2>\s*/dev/null\s*)?\Z"
)
_LITERAL_NODES = frozenset({"number", "extglob_pattern", "regex", "test_operator", "brace_expression",
                            "special_variable_name", "variable_name", "heredoc_content", "string_content"})


class Statements(Protocol):
    """The walker of the text, for the commands that substitutions run."""

    def sequence(self, node: Node) -> None: ...

    def generic(self, node: Node) -> None: ...

    def printed_paths(self, stages: list[Node]) -> list[str] | None: ...


class WordExpander:
    """Expands the words of one text with the variables of its shell process."""

    def __init__(self, source: Source, process: Shell, walker: Statements) -> None:
        self.source = source
        self.process = process
        self.walker = walker  # walks the commands substitutions run
        self.parameters = ParameterExpander(source, process, self)

    def fields(self, node: Node) -> list[list[Field]]:
        """Possible field lists a word expands to, after word splitting and pathname expansion."""
        src = self.source.text(node)
        line = self.source.line(node)
        col = self.source.col(node)
        res: list[list[Field]] = []
        seen: set[tuple[tuple[str | None, tuple[Piece, ...], bool], ...]] = set()
        for alt in self.expand(node, False):
            fields = self._pathnames(split_fields(alt, src, line, col))
            key = tuple((f.text, f.pieces, f.glob) for f in fields)
            if key not in seen:
                seen.add(key)
                res.append(fields)
        return res

    def _pathnames(self, fields: list[Field]) -> list[Field]:
        """A field with unquoted glob characters becomes the files it matches, in order (the shell
        lists the directories for it); one that matches nothing stays a pattern."""
        out: list[Field] = []
        for f in fields:
            matches = self.process.files.glob(f.text) if f.glob and f.text is not None else []
            if not matches:
                out.append(f)
                continue
            for path in matches:
                self.process.findings.record([path], f.line, f.col, UseKind.READ)
                out.append(Field.static(path, f.line, f.src, f.col))
        return out

    def walk_generic(self, node: Node) -> None:
        self.walker.generic(node)

    def expand(self, node: Node, dq: bool) -> list[Alt]:
        """Possible segment lists for a word; runs the substitutions it meets."""
        t = node.type
        text = self.source.text
        if t == "word":
            raw = text(node)
            value, glob = unescape_unquoted(raw)
            if value.startswith("~"):
                return self._tilde(value, glob, raw)
            return [[Segment(value, False, glob, raw)]]
        if t in _LITERAL_NODES:
            raw = text(node)
            return [[Segment(raw, False, False, raw)]]
        if t == "raw_string":
            raw = text(node)
            return [[Segment(raw[1:-1], False, False, raw)]]
        if t == "ansi_c_string":
            raw = text(node)
            return [[Segment(unescape_ansi(raw[2:-1]), False, False, raw)]]
        if t in ("string", "translated_string"):
            return self._string(node)
        if t == "concatenation":
            lists = [self.expand(c, dq) for c in node.named_children]
            return product_or_dynamic(lists, not dq, text(node))
        if t == "simple_expansion":
            return self.parameters.simple(node, dq)
        if t == "expansion":
            return self.parameters.braced(node, dq)
        if t == "command_substitution":
            return self._command_substitution(node, dq)
        if t == "process_substitution":
            self.process.flow.isolated(lambda: self.walker.sequence(node))
            return dynamic_word(text(node), False)
        if t == "arithmetic_expansion":
            self.walker.generic(node)
            return dynamic_word(text(node), not dq)
        # anything else: look for substitutions, keep the text as written
        self.walker.generic(node)
        raw = text(node)
        return [[Segment(raw, False, False, raw)]]

    def _tilde(self, value: str, glob: bool, raw: str) -> list[Alt]:
        """~/path is under $HOME; ~user/path depends on the image's users."""
        user, sep, rest = value[1:].partition("/")
        if user:
            return dynamic_word(raw, False)
        alts: list[Alt] = []
        for home in self.process.flow.state.get("HOME"):
            if isinstance(home, str):
                alts.append([Segment(home + sep + rest, False, glob, raw)])
            else:
                alts.append([Segment(None, False, False, raw)])
        return alts

    def _string(self, node: Node) -> list[Alt]:
        """"..." and $"...": one field, whatever the values inside hold."""
        raw = self.source.text(node)
        data = self.source.data
        kids = node.named_children
        only_at = len(kids) == 1 and self.parameters.is_all_elements(kids[0])
        lists: list[list[Alt]] = [] if only_at else [[[Segment("", False, False, raw)]]]
        start = node.start_byte + (2 if raw.startswith('$"') else 1)
        end = node.end_byte - 1
        pos = start
        for c in kids:
            if c.start_byte > pos:
                gap = data[pos:c.start_byte].decode("utf-8", "surrogateescape")
                lists.append([[Segment(unescape_dquoted(gap), False, False, gap)]])
            if c.type == "string_content":
                s = self.source.text(c)
                lists.append([[Segment(unescape_dquoted(s), False, False, s)]])
            else:
                lists.append(self.expand(c, True))
            pos = c.end_byte
        if end > pos:
            gap = data[pos:end].decode("utf-8", "surrogateescape")
            lists.append([[Segment(unescape_dquoted(gap), False, False, gap)]])
        return product_or_dynamic(lists, False, raw)

    def _command_substitution(self, node: Node, dq: bool) -> list[Alt]:
        """$(...) and `...`: walked in a subshell. The output is dynamic unless it is a program's
        name (`$(command -v X)`) or, unquoted, the paths a find prints (one field each)."""
        statements = node.named_children
        self.process.flow.isolated(lambda: self.walker.sequence(node))
        raw = self.source.text(node)
        inner = raw[2:-1] if raw.startswith("$(") else raw[1:-1]
        names: list[str] = []
        for part in inner.split("||"):
            m = _LOOKUP_SUBST.match(part)
            if not m:
                names = []
                break
            names.append(m.group(1))
        if names:
            return [[Segment(n, not dq, False, raw)] for n in names]
        if not dq and len(statements) == 1:
            stages = statements[0].named_children if statements[0].type == "pipeline" else statements
            paths = self.walker.printed_paths(stages)
            if paths is not None:
                alt: Alt = []
                for k, path in enumerate(paths):
                    if k:
                        alt.append(None)  # field break
                    alt.append(Segment(path, False, False, raw))
                return [alt]
        return dynamic_word(raw, not dq)
