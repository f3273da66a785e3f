"""Word expansion: the alternatives a word may expand to, and the fields they split into.

Quoting, tilde, strings and concatenations are handled here; variables and ${...}
in parameters.py.  Expanding a word also walks the command substitutions in it.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from .fields import Alt, Field, dynamic_word, product_or_dynamic, split_fields
from .quoting import unescape_ansi, unescape_dquoted, unescape_unquoted
from .walker import Walker

_LOOKUP_SUBST = re.compile(
    r"\s*(?:command\s+-v|which|type\s+-[pP])\s+['\"]?([A-Za-z0-9_./+-]+)['\"]?\s*(?:2>\s*/dev/null\s*)?\Z"
)


class Words(Walker):
    """Words, strings and command substitutions."""

    def _fields(self, node: Node) -> list[list[Field]]:
        """Possible field lists a word expands to (after splitting)."""
        src = self.text(node)
        line = self.line(node)
        col = self.col(node)
        res: list[list[Field]] = []
        seen: set[tuple] = set()
        for alt in self._expand(node, False):
            fields = split_fields(alt, src, line, col)
            key = tuple((f.text, f.pieces) for f in fields)
            if key not in seen:
                seen.add(key)
                res.append(fields)
        return res

    def _expand(self, node: Node, dq: bool) -> list[Alt]:
        """Possible segment lists for a word; runs substitutions it meets."""
        t = node.type
        if t == "word":
            raw = self.text(node)
            text, glob = unescape_unquoted(raw)
            if text.startswith("~"):
                return self._tilde(text, glob, raw)
            return [[(text, False, glob, raw)]]
        if t in ("number", "extglob_pattern", "regex", "test_operator", "brace_expression",
                 "special_variable_name", "variable_name", "heredoc_content", "string_content"):
            raw = self.text(node)
            return [[(raw, False, False, raw)]]
        if t == "raw_string":
            raw = self.text(node)
            return [[(raw[1:-1], False, False, raw)]]
        if t == "ansi_c_string":
            raw = self.text(node)
            return [[(unescape_ansi(raw[2:-1]), False, False, raw)]]
        if t in ("string", "translated_string"):
            return self._expand_string(node)
        if t == "concatenation":
            lists = [self._expand(c, dq) for c in node.named_children]
            return product_or_dynamic(lists, not dq, self.text(node))
        if t == "simple_expansion":
            return self._simple_expansion(node, dq)
        if t == "expansion":
            return self._expansion(node, dq)
        if t == "command_substitution":
            return self._command_substitution(node, dq)
        if t == "process_substitution":
            saved = self.state
            self.state = saved.copy()
            self._seq(node)
            self.state = saved
            return dynamic_word(self.text(node), False)
        if t == "arithmetic_expansion":
            self._generic(node)
            return dynamic_word(self.text(node), not dq)
        # anything else: look for substitutions, keep the text as written
        self._generic(node)
        raw = self.text(node)
        return [[(raw, False, False, raw)]]

    def _tilde(self, text: str, glob: bool, raw: str) -> list[Alt]:
        """~/path is under $HOME; ~user/path depends on the image's users."""
        user, sep, rest = text[1:].partition("/")
        if user:
            return dynamic_word(raw, False)
        alts = []
        for home in self.state.get("HOME"):
            h = home if isinstance(home, str) else None
            if h is None:
                alts.append([(None, False, False, raw)])
            else:
                alts.append([(h + sep + rest, False, glob, raw)])
        return alts

    def _expand_string(self, node: Node) -> list[Alt]:
        """"..." and $"...": one field, whatever the values inside hold."""
        raw = self.text(node)
        kids = node.named_children
        only_at = len(kids) == 1 and self._is_all_elements(kids[0])
        lists: list[list[Alt]] = [] if only_at else [[[("", False, False, raw)]]]
        start = node.start_byte + (2 if raw.startswith('$"') else 1)
        end = node.end_byte - 1
        pos = start
        for c in kids:
            if c.start_byte > pos:
                gap = self.src[pos:c.start_byte].decode("utf-8", "surrogateescape")
                lists.append([[(unescape_dquoted(gap), False, False, gap)]])
            if c.type == "string_content":
                s = self.text(c)
                lists.append([[(unescape_dquoted(s), False, False, s)]])
            else:
                lists.append(self._expand(c, True))
            pos = c.end_byte
        if end > pos:
            gap = self.src[pos:end].decode("utf-8", "surrogateescape")
            lists.append([[(unescape_dquoted(gap), False, False, gap)]])
        return product_or_dynamic(lists, False, raw)

    def _is_all_elements(self, node: Node) -> bool:
        """"$@" / "${a[@]}": quoted, yet may expand to no field at all."""
        if node.type == "simple_expansion":
            return self.text(node) == "$@"
        if node.type == "expansion":
            t = self.text(node)
            return t == "${@}" or bool(re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\[@\]\}", t))
        return False

    def _command_substitution(self, node: Node, dq: bool) -> list[Alt]:
        """$(...) and `...`: walked in a subshell; the output is dynamic unless it names a program."""
        saved = self.state
        self.state = saved.copy()
        for c in node.named_children:
            self._stmt(c)
        self.state = saved
        raw = self.text(node)
        inner = raw[2:-1] if raw.startswith("$(") else raw[1:-1]
        names = []
        for part in inner.split("||"):
            m = _LOOKUP_SUBST.match(part)
            if not m:
                names = []
                break
            names.append(m.group(1))
        if names:
            # $(command -v X): the value is wherever X resolves; running it
            # runs X, so carry the name itself
            return [[(n, not dq, False, raw)] for n in names]
        return dynamic_word(raw, not dq)
