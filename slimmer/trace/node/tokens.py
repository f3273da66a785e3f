"""Where a word occurs in a JavaScript module's syntax tree (see slimmer/trace/tokens.py)."""

from __future__ import annotations

from tree_sitter import Node

from slimmer.trace import tokens

# Node types an occurrence of a name is when it is code (not inside a string or a comment).
_NAME_TYPES = frozenset({"identifier", "property_identifier", "shorthand_property_identifier",
                         "shorthand_property_identifier_pattern", "import", "export", "private_property_identifier"})
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


class TokenIndex(tokens.TokenIndex):
    """The code occurrences of words in one parsed JavaScript module, each found once."""

    def __init__(self, source: bytes, root: Node) -> None:
        super().__init__(source, root, _NAME_TYPES, _WORD_BYTES, "string_fragment")
