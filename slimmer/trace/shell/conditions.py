"""What conditions say before the script runs: string tests on known values, case patterns.

`[ "$1" = postgres ]` with $1 known is true or false in every state the analysis holds, so only
one branch can run; `case "$f" in *.sh)` matches the known values of $f that fit the pattern.
Anything that depends on run time is None: both ways are taken.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable

from tree_sitter import Node

from .expansion import WordExpander
from .fields import Alt, join_text
from .quoting import has_glob
from .source import Source
from .values import Value

WORD_NODES = frozenset({"word", "string", "raw_string", "concatenation", "simple_expansion", "expansion"})
PATTERN_NODES = frozenset({"extglob_pattern", "word", "string", "raw_string", "concatenation"})
# What `[ ]` compares, by operator: `A = B`, `A != B`, `-z A`, `-n A`.
_STRING_TESTS: dict[str, Callable[..., bool]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
    "-z": lambda v: v == "", "-n": lambda v: v != "",
}


class Conditions:
    """Reads the conditions and case patterns of one text with the values of its shell."""

    def __init__(self, source: Source, words: WordExpander) -> None:
        self.source = source
        self.words = words

    def truth(self, condition: list[Node]) -> bool | None:
        """The outcome of a condition made of string tests (`[ A = B ]`, `[ A != B ]`, `[ -z A ]`,
        `[ -n A ]`, joined by && and ||) on values all known, the same in every possible state;
        else None."""
        if len(condition) != 1:
            return None
        node = condition[0]
        if node.type == "list" and node.named_child_count == 2:
            operators = [c.type for c in node.children if c.type in ("&&", "||")]
            left, right = (self.truth([c]) for c in node.named_children)
            if operators == ["&&"]:
                return False if False in (left, right) else True if left and right else None
            if operators == ["||"]:
                return True if True in (left, right) else False if left is False and right is False else None
            return None
        if node.type != "test_command" or node.named_child_count != 1:
            return None
        expression = node.named_children[0]
        operator_node = expression.child_by_field_name("operator")
        test = self.source.text(operator_node) if operator_node is not None else \
            next((c.type for c in expression.children if c.type in _STRING_TESTS), None)
        if test not in _STRING_TESTS:
            return None
        texts = [self._known_texts(c) for c in expression.named_children if c.type in WORD_NODES]
        operands = [t for t in texts if t is not None]
        if len(operands) != len(texts) or len(operands) != (1 if test in ("-z", "-n") else 2):
            return None
        if test in ("==", "=") and self.source.text(node).startswith("[[") and \
                any(has_glob(v) for v in operands[-1]):
            return None  # [[ A == PATTERN ]]: a pattern match
        outcomes = {_STRING_TESTS[test](*values) for values in itertools.product(*operands)}
        return outcomes.pop() if len(outcomes) == 1 else None

    def _known_texts(self, node: Node) -> set[str] | None:
        """Every text a word may expand to (no splitting), or None if one is known only at run time."""
        texts = [join_text(alt) for alt in self.words.expand(node, True)]
        known = {t for t in texts if t is not None}
        return known if len(known) == len(set(texts)) else None

    def case_patterns(self, item: Node) -> list[re.Pattern[str]] | None:
        """The patterns of a case item as regular expressions, or None when one is not known."""
        patterns: list[re.Pattern[str]] = []
        for i, c in enumerate(item.children):
            if not c.is_named or not (item.field_name_for_child(i) == "value" or c.type in PATTERN_NODES):
                continue
            raw = self.source.text(c)
            if c.type == "extglob_pattern":
                if "(" in raw:
                    return None  # bash's extended patterns: not modelled
                patterns.append(re.compile(_glob_regex(raw), re.S))
                continue
            for alt in self.words.expand(c, False):
                regex = _segments_regex(alt)
                if regex is None:
                    return None
                patterns.append(re.compile(regex, re.S))
        return patterns


def may_match(value: Value, patterns: list[re.Pattern[str]]) -> bool:
    """Whether a case pattern may match a possible value (an unknown one may match anything)."""
    return not isinstance(value, str) or any(p.fullmatch(value) for p in patterns)


def _glob_regex(pattern: str) -> str:
    """A shell pattern (unquoted, backslashes quoting) as a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1:end]
            body = "^" + body[1:] if body[:1] in ("!", "^") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _segments_regex(alt: Alt) -> str | None:
    """An expanded pattern word as a regular expression: unquoted glob characters match, quoted
    text is literal; None when a part is known only at run time."""
    out: list[str] = []
    for seg in alt:
        if seg is None:
            out.append(" ")
        elif seg.text is None:
            return None
        else:
            out.append(_glob_regex(seg.text) if seg.glob else re.escape(seg.text))
    return "".join(out)
