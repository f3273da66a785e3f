"""JavaScript source as syntax trees (tree-sitter-javascript), and the literal strings in them.

One grammar reads CommonJS, ES modules, JSX and the output of TypeScript, Babel and bundlers,
for any recent Node; a file with a syntax error still yields the statements around the error.
"""

from __future__ import annotations

import re

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser, Tree

LANGUAGE = Language(tree_sitter_javascript.language())
_SHEBANG = re.compile(rb"\A#![^\n]*")
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3}|\r\n|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0",
                   "\n": "", "\r\n": "", "\u2028": "", "\u2029": ""}


def parse(source: bytes) -> Tree:
    """The syntax tree of a module; a `#!` line (allowed by Node) is blanked first."""
    source = _SHEBANG.sub(lambda m: b" " * len(m.group(0)), source, count=1)
    return Parser(LANGUAGE).parse(source)


def text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def line(node: Node) -> int:
    return node.start_point.row + 1


def string_literal(node: Node) -> str | None:
    """The value of a string literal, or of a template literal without substitutions."""
    if node.type == "string":
        return "".join(literal_piece(child) for child in node.named_children)
    if node.type == "template_string" and all(c.type in ("string_fragment", "escape_sequence")
                                              for c in node.named_children):
        return "".join(literal_piece(child) for child in node.named_children)
    return None


def literal_piece(node: Node) -> str:
    """A fragment or an escape sequence of a string or template literal, as text."""
    raw = text(node)
    return _ESCAPE.sub(_unescape, raw) if node.type == "escape_sequence" else raw


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[code]
    if code.startswith("u{"):
        return chr(int(code[2:-1], 16))
    if code[0] in "ux" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code[0] in "01234567":
        return chr(int(code, 8))
    return code
