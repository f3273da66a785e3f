"""Strings a module computes from what it knows when it is written: `__dirname + '/x'`,
`path.join(__dirname, 'views')`, `new URL('./w.js', import.meta.url)`, `` `./locale/${lang}` ``.

A value is a sequence of known text and holes (parts only known at run time), so a partly
dynamic name still says where to look (`./locale/` + anything + `.js`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from tree_sitter import Node

from slimmer.trace.node.bindings import Bindings, unwrap
from slimmer.trace.node.parse import literal_piece, string_literal, text

HOLE = None  # a part of a string only known at run time
_PATH_FUNCTIONS = frozenset({"join", "resolve", "normalize", "dirname"})
_PLACEHOLDER = "\x00"


@dataclass(frozen=True)
class StaticString:
    """Known text and holes, in order."""

    parts: tuple[str | None, ...]

    @classmethod
    def of(cls, value: str) -> StaticString:
        return cls((value,))

    @property
    def literal(self) -> str | None:
        """The whole value when no part is a hole."""
        return "".join(p for p in self.parts if p is not None) if HOLE not in self.parts else None

    @property
    def prefix(self) -> str:
        """The known text before the first hole."""
        known = []
        for part in self.parts:
            if part is None:
                break
            known.append(part)
        return "".join(known)

    def pattern(self) -> re.Pattern[str]:
        """A regular expression matching every value: a hole matches anything, `/` included."""
        return re.compile("".join(".*" if p is None else re.escape(p) for p in self.parts) + r"\Z", re.S)

    def __add__(self, other: StaticString) -> StaticString:
        merged: list[str | None] = []
        for part in self.parts + other.parts:
            if merged and part is not None and merged[-1] is not None:
                merged[-1] = merged[-1] + part
            elif not (part is None and merged and merged[-1] is None):
                merged.append(part)
        return StaticString(tuple(merged))


UNKNOWN = StaticString((HOLE,))


class Evaluator:
    """Values of string expressions in one file (its path, the process's working directory)."""

    def __init__(self, path: str, bindings: Bindings, cwd: str) -> None:
        self.path = path
        self.bindings = bindings
        self.cwd = cwd
        self._evaluating: set[str] = set()

    def value(self, node: Node) -> StaticString:
        """The value of `node` as far as it is known (UNKNOWN when nothing is)."""
        node = unwrap(node)
        literal = string_literal(node)
        if literal is not None:
            return StaticString.of(literal)
        kind = node.type
        if kind == "template_string":
            result = StaticString(())
            for child in node.named_children:
                if child.type == "template_substitution":
                    result = result + (self.value(child.named_children[0]) if child.named_children else UNKNOWN)
                else:
                    result = result + StaticString.of(literal_piece(child))
            return result
        if kind == "binary_expression" and _operator(node) == "+":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None and right is not None:
                return self.value(left) + self.value(right)
        if kind == "identifier":
            return self._identifier(text(node))
        if kind == "member_expression":
            return self._member(node)
        if kind == "call_expression":
            return self._call(node)
        if kind == "new_expression":
            return self._new(node)
        return UNKNOWN

    def values(self, node: Node) -> list[StaticString]:
        """The values `node` may have: one, or one per element when it is the variable of a
        `for (const x of [...])` loop (`for (const p of candidates) try { return require(p) } ...`)."""
        inner = unwrap(node)
        if inner.type == "identifier":
            elements = self.bindings.iterated(text(inner))
            if elements:
                return [self.value(element) for element in elements]
        return [self.value(node)]

    # -- the forms understood --

    def _identifier(self, name: str) -> StaticString:
        if name == "__dirname":
            return StaticString.of(posixpath.dirname(self.path))
        if name == "__filename":
            return StaticString.of(self.path)
        if ("path", "sep") in self.bindings.modules.get(name, ()):
            return StaticString.of("/")
        bound = self.bindings.constant(name)
        if bound is None or name in self._evaluating:
            return UNKNOWN
        self._evaluating.add(name)
        try:
            return self.value(bound)
        finally:
            self._evaluating.discard(name)

    def _member(self, node: Node) -> StaticString:
        whole = text(node)
        if whole == "import.meta.dirname":
            return StaticString.of(posixpath.dirname(self.path))
        if whole == "import.meta.filename":
            return StaticString.of(self.path)
        if whole == "import.meta.url":
            return StaticString.of("file://" + self.path)
        if ("path", "sep") in self.bindings.callee(node):
            return StaticString.of("/")
        return UNKNOWN

    def _call(self, node: Node) -> StaticString:
        function, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if function is None or arguments is None:
            return UNKNOWN
        callee = self.bindings.callee(function)
        args = [self.value(a) for a in arguments.named_children]
        for module, member in callee:
            if module in ("path", "path/posix") and member in _PATH_FUNCTIONS:
                return self._path_call(member, args)
            if module == "url" and member == "fileURLToPath" and args:
                return _file_url_to_path(args[0])
            if module == "process" and member == "cwd":
                return StaticString.of(self.cwd)
        if text(function) == "process.cwd":
            return StaticString.of(self.cwd)
        return UNKNOWN

    def _new(self, node: Node) -> StaticString:
        """`new URL(relative, import.meta.url)` and `new URL('file:///x')`."""
        constructor, arguments = node.child_by_field_name("constructor"), node.child_by_field_name("arguments")
        if constructor is None or arguments is None or text(constructor) != "URL" or not arguments.named_children:
            return UNKNOWN
        args = [self.value(a) for a in arguments.named_children]
        if len(args) == 1:
            return args[0] if args[0].prefix.startswith("file:") else UNKNOWN
        base = args[1].literal
        if base is None or not base.startswith("file:"):
            return UNKNOWN
        relative = args[0]
        base_dir = posixpath.dirname(urlsplit(base).path)
        if relative.prefix.startswith("/"):
            return StaticString.of("file://") + relative
        return StaticString.of("file://") + _join([StaticString.of(base_dir), relative])

    def _path_call(self, function: str, args: list[StaticString]) -> StaticString:
        if function == "dirname":
            literal = args[0].literal if args else None
            return StaticString.of(posixpath.dirname(literal)) if literal is not None else UNKNOWN
        if function == "resolve":
            # path.resolve works from the right: the last absolute argument starts the path.
            start = max((i for i, a in enumerate(args) if a.prefix.startswith("/")), default=-1)
            args = ([StaticString.of(self.cwd)] if start < 0 else []) + args[max(start, 0):]
        return _join(args)


def _operator(node: Node) -> str | None:
    operator = node.child_by_field_name("operator")
    return text(operator) if operator is not None else None


def _join(args: list[StaticString]) -> StaticString:
    """path.join: separators between the arguments, then normalised (holes kept in place)."""
    if not args:
        return StaticString.of(".")
    joined = StaticString(())
    for i, arg in enumerate(args):
        joined = joined + (StaticString.of("/") if i else StaticString(())) + arg
    if joined.literal is not None:
        return StaticString.of(posixpath.normpath(joined.literal))
    flat = "".join(_PLACEHOLDER if p is None else p for p in joined.parts)
    normal = posixpath.normpath(flat)
    parts: list[str | None] = []
    for i, piece in enumerate(normal.split(_PLACEHOLDER)):
        if i:
            parts.append(HOLE)
        if piece:
            parts.append(piece)
    return StaticString(tuple(parts))


def _file_url_to_path(url: StaticString) -> StaticString:
    literal = url.literal
    if literal is not None and literal.startswith("file:"):
        return StaticString.of(posixpath.normpath(unquote(urlsplit(literal).path)))
    if url.prefix.startswith("file://"):
        rest = StaticString((url.parts[0][len("file://"):] if url.parts[0] else "",) + url.parts[1:])
        return rest
    return UNKNOWN
