"""Expressions of Python source reduced to what static analysis can know: string literals, names,
calls, `+` and `/`, lists. Made from the syntax tree once per file, evaluated later in the
context of one interpreter and module (`sys.executable`, `__file__`, `__name__`)."""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tree_sitter import Node


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Ref:
    """A name or dotted attribute chain, with import aliases resolved (`sys.executable`)."""

    name: str


@dataclass(frozen=True)
class Call:
    """`func(args...)`; a method call on a value is `@method` with the value as first argument."""

    func: str
    args: tuple[Expr, ...] = ()
    keywords: tuple[tuple[str, Expr], ...] = ()

    def argument(self, position: int, keyword: str) -> Expr | None:
        for name, value in self.keywords:
            if name == keyword:
                return value
        return self.args[position] if position < len(self.args) else None


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Seq:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Unknown:
    text: str  # the source, for warnings


Expr = Str | Ref | Call | BinOp | Seq | Unknown
Value = str | list["str | None"] | None  # None: not known statically

MAX_DEPTH = 4  # how many variable assignments are followed into their values


def dotted(node: Node) -> str | None:
    """`a.b.c` for an identifier or a chain of attributes on identifiers."""
    if node.type == "identifier":
        return _text(node)
    if node.type == "attribute":
        obj, attr = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        base = dotted(obj) if obj is not None else None
        return f"{base}.{_text(attr)}" if base is not None and attr is not None else None
    return None


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


Lookup = Callable[[str, int, int], "Expr | None"]  # a variable's single value, by name, place and depth


@dataclass
class Converter:
    """Turns syntax nodes into Expr, resolving import aliases and single-assignment variables."""

    aliases: Mapping[str, str]  # local name -> dotted module path it was imported as
    lookup: Lookup

    def resolve_name(self, name: str) -> str:
        head, dot, rest = name.partition(".")
        target = self.aliases.get(head)
        return (target + dot + rest) if target else name

    def convert(self, node: Node | None, depth: int = 0) -> Expr:
        if node is None:
            return Unknown("")
        kind = node.type
        if kind == "string":
            return self._string(node, depth)
        if kind == "concatenated_string":
            parts = [self._string(child, depth) for child in node.named_children]
            return _concat(parts)
        if kind == "parenthesized_expression" and node.named_child_count == 1:
            return self.convert(node.named_children[0], depth)
        if kind == "identifier":
            name = _text(node)
            if name not in self.aliases and depth < MAX_DEPTH:
                value = self.lookup(name, node.start_byte, depth + 1)
                if value is not None:
                    return value
            return Ref(self.resolve_name(name))
        if kind == "attribute":
            chain = dotted(node)
            head = chain.partition(".")[0] if chain is not None else ""
            # `sys.executable` is a name; `here.parent` with `here = Path(__file__)` is a computation.
            if chain is not None and (head in self.aliases or depth >= MAX_DEPTH
                                      or self.lookup(head, node.start_byte, depth + 1) is None):
                return Ref(self.resolve_name(chain))
            attr = _text(node.child_by_field_name("attribute"))
            return Call("@" + attr, (self.convert(node.child_by_field_name("object"), depth),))
        if kind == "call":
            return self.call(node, depth)
        if kind == "binary_operator":
            op = _text(node.child_by_field_name("operator"))
            return BinOp(op, self.convert(node.child_by_field_name("left"), depth),
                         self.convert(node.child_by_field_name("right"), depth))
        if kind in ("list", "tuple", "expression_list"):
            return Seq(tuple(self.convert(child, depth) for child in node.named_children
                             if child.type != "comment"))
        return Unknown(_text(node)[:80])

    def call(self, node: Node, depth: int = 0) -> Call:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        args: list[Expr] = []
        keywords: list[tuple[str, Expr]] = []
        for child in arguments.named_children if arguments is not None else ():
            if child.type == "keyword_argument":
                keywords.append((_text(child.child_by_field_name("name")),
                                 self.convert(child.child_by_field_name("value"), depth)))
            elif child.type not in ("comment", "list_splat", "dictionary_splat"):
                args.append(self.convert(child, depth))
            elif child.type == "list_splat":
                args.append(Unknown(_text(child)))
        name = dotted(function) if function is not None else None
        # `here.open()` with `here = Path(...)` is a method of a value, as `Path(...).open()` is
        if name is not None and not self._on_variable(name, node.start_byte, depth):
            return Call(self.resolve_name(name), tuple(args), tuple(keywords))
        if function is not None and function.type == "attribute":
            method = _text(function.child_by_field_name("attribute"))
            target = self.convert(function.child_by_field_name("object"), depth)
            return Call("@" + method, (target, *args), tuple(keywords))
        return Call("?", tuple(args), tuple(keywords))

    def _on_variable(self, name: str, at: int, depth: int) -> bool:
        """`name` is `variable.method` (or deeper) on a variable with a known value."""
        head, dot, _ = name.partition(".")
        return bool(dot) and head not in self.aliases and depth < MAX_DEPTH and \
            self.lookup(head, at, depth + 1) is not None

    def _string(self, node: Node, depth: int) -> Expr:
        if node.type != "string":
            return self.convert(node, depth)
        start = _text(node.children[0]) if node.children else ""
        prefix = start.rstrip("'\"").lower()
        if "b" in prefix:
            return Unknown(_text(node)[:80])
        if "f" not in prefix:
            try:
                value = ast.literal_eval(_text(node))
            except (ValueError, SyntaxError):
                return Unknown(_text(node)[:80])
            return Str(value) if isinstance(value, str) else Unknown(_text(node)[:80])
        parts: list[Expr] = []
        for child in node.children[1:-1]:
            if child.type == "string_content":
                parts.append(Str(_text(child)))
            elif child.type == "interpolation":
                inner = child.child_by_field_name("expression")
                parts.append(self.convert(inner, depth) if inner is not None else Unknown(_text(child)))
            else:
                parts.append(Unknown(_text(child)))
        return _concat(parts)


def _concat(parts: list[Expr]) -> Expr:
    if not parts:
        return Str("")
    result = parts[0]
    for part in parts[1:]:
        result = BinOp("+", result, part)
    return result


def strings_in(expr: Expr) -> list[str]:
    """Literal strings of a list or tuple expression (`__all__ = ["a", "b"]`)."""
    if isinstance(expr, Str):
        return [expr.value]
    if isinstance(expr, Seq):
        return [item.value for item in expr.items if isinstance(item, Str)]
    if isinstance(expr, BinOp) and expr.op == "+":
        return strings_in(expr.left) + strings_in(expr.right)
    return []


def known_prefix(expr: Expr | None, names: Mapping[str, str]) -> str:
    """The start of a string built at run time that is known statically (`f"pkg.{name}"` -> "pkg.")."""
    if isinstance(expr, BinOp) and expr.op == "+":
        left = evaluate(expr.left, names)
        return left if isinstance(left, str) else known_prefix(expr.left, names)
    value = evaluate(expr, names)
    return value if isinstance(value, str) else ""


# -- evaluation -----------------------------------------------------------------------------

_PATH_FUNCTIONS: dict[str, Callable[..., str]] = {
    "os.path.join": posixpath.join,
    "posixpath.join": posixpath.join,
    "os.path.dirname": posixpath.dirname,
    "posixpath.dirname": posixpath.dirname,
    "os.path.abspath": posixpath.normpath,
    "os.path.realpath": posixpath.normpath,
    "os.path.normpath": posixpath.normpath,
    "os.fspath": str,
    "str": str,
    "pathlib.Path": lambda *parts: posixpath.join(*parts) if parts else ".",
    "pathlib.PurePath": lambda *parts: posixpath.join(*parts) if parts else ".",
    "pathlib.PosixPath": lambda *parts: posixpath.join(*parts) if parts else ".",
    "@parent": posixpath.dirname,
    "@joinpath": posixpath.join,
    "@resolve": posixpath.normpath,
    "@absolute": posixpath.normpath,
    "@expanduser": str,
}


def evaluate(expr: Expr | None, names: Mapping[str, str]) -> Value:
    """The value of `expr` when it is known statically; `names` gives the context's values of
    `sys.executable`, `__file__`, `__name__`, ..."""
    if expr is None:
        return None
    if isinstance(expr, Str):
        return expr.value
    if isinstance(expr, Ref):
        return names.get(expr.name)
    if isinstance(expr, Seq):
        items = [evaluate(item, names) for item in expr.items]
        return [item if isinstance(item, str) else None for item in items]
    if isinstance(expr, BinOp):
        left, right = evaluate(expr.left, names), evaluate(expr.right, names)
        if isinstance(left, str) and isinstance(right, str):
            if expr.op == "+":
                return left + right
            if expr.op == "/":
                return posixpath.join(left, right)
        if isinstance(left, list) and isinstance(right, list) and expr.op == "+":
            return left + right
        return None
    if isinstance(expr, Call):
        function = _PATH_FUNCTIONS.get(expr.func)
        if function is None:
            return None
        args = [evaluate(arg, names) for arg in expr.args]
        if not all(isinstance(arg, str) for arg in args):
            return None
        try:
            return function(*args)
        except TypeError:
            return None
    return None
