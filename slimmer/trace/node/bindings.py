"""What the names of one module stand for: modules, their members, `require` functions, constants.

`spawn(...)` runs a program only if `spawn` came from `child_process`; `p.join(__dirname, 'x')`
builds a path only if `p` is the `path` module. Names are collected over the whole file, without
scopes: a name bound in several ways stands for each of them (the analysis errs towards keeping).
The forms understood: `const x = require('m')`, `const {a, b: c} = require('m')`,
`const x = require('m').a`, TypeScript's and Babel's `__importDefault(require('m'))`,
`await import('m')`, `import x, * as ns, {a as b} from 'm'`, `createRequire(...)` results, and
`const NAME = <string expression>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from slimmer.trace.node.builtins import builtin_name
from slimmer.trace.node.parse import captures, query, string_literal, text

# Helpers that compilers wrap around a require: the module stays the same.
_INTEROP_WRAPPERS = frozenset({"__importDefault", "__importStar", "_interopRequireDefault",
                               "_interopRequireWildcard", "__toESM", "__toCommonJS"})

_DECLARATIONS = query("""
(variable_declarator name: (_) @name value: (_) @value)
(import_statement (import_clause) @clause source: (string) @source)
""")

Member = tuple[str, str | None]  # (module, member): None for the module itself


@dataclass
class Bindings:
    """Names of one file: module (and member) bindings, require functions, constant strings."""

    modules: dict[str, set[Member]] = field(default_factory=dict)
    require_names: set[str] = field(default_factory=lambda: {"require"})
    constants: dict[str, Node | None] = field(default_factory=dict)  # None: bound more than once

    def bind(self, name: str, module: str, member: str | None = None) -> None:
        self.modules.setdefault(name, set()).add((normalise_module(module), member))

    def callee(self, node: Node) -> set[Member]:
        """What a called expression is: `spawn`, `cp.spawn`, `require('m').x`, `(0, m_1.spawn)`."""
        node = unwrap(node)
        if node.type == "identifier":
            return self.modules.get(text(node), set())
        if node.type == "call_expression":
            module = self.required_module(node)
            return {(module, None)} if module is not None else set()
        if node.type != "member_expression":
            return set()
        obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj is None or prop is None:
            return set()
        name = text(prop)
        found: set[Member] = set()
        for module, member in self.callee(obj):
            if member is None:
                found.add((module, name))
            elif member in ("default", "promises"):
                found.add((module, name))  # fs.promises.readFile, x_1.default.spawn
        return found

    def required_module(self, node: Node) -> str | None:
        """The literal module of `require('m')` (or an interop wrapper around it), normalised."""
        node = unwrap(node)
        if node.type != "call_expression":
            return None
        function, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if function is None or arguments is None or not arguments.named_children:
            return None
        first = arguments.named_children[0]
        if function.type == "identifier" and text(function) in _INTEROP_WRAPPERS:
            return self.required_module(first)
        if function.type == "import" or (function.type == "identifier" and text(function) in self.require_names):
            literal = string_literal(first)
            return normalise_module(literal) if literal is not None else None
        return None


def normalise_module(specifier: str) -> str:
    """`node:fs`, `fs/promises` and `fs` offer the same functions to the analysis."""
    name = builtin_name(specifier)
    return name.removesuffix("/promises") if name in ("fs/promises", "dns/promises", "timers/promises") else name


def unwrap(node: Node) -> Node:
    """`(x)`, `(0, x)` and `await x` are x for naming purposes."""
    while True:
        if node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[-1]
        elif node.type == "sequence_expression" and node.named_children:
            node = node.named_children[-1]
        elif node.type == "await_expression" and node.named_children:
            node = node.named_children[0]
        else:
            return node


def collect_bindings(root: Node) -> Bindings:
    bindings = Bindings()
    declarators: list[tuple[Node, Node]] = []
    for _, found in captures(_DECLARATIONS, root):
        if "clause" in found:
            _import_clause(bindings, found["clause"][0], string_literal(found["source"][0]))
        else:
            declarators.append((found["name"][0], found["value"][0]))
    for name, value in declarators:
        _declarator(bindings, name, value)
    # `const r = createRequire(import.meta.url)`: then `const x = r('m')` binds x too.
    created = {text(name) for name, value in declarators
               if name.type == "identifier" and _creates_require(bindings, value)}
    if created - bindings.require_names:
        bindings.require_names |= created
        for name, value in declarators:
            if bindings.required_module(value) is not None:
                _declarator(bindings, name, value)
    return bindings


def _creates_require(bindings: Bindings, value: Node) -> bool:
    """`createRequire(...)` (however `createRequire` was obtained), or `require` itself under another name."""
    value = unwrap(value)
    if value.type == "identifier":
        return text(value) in bindings.require_names
    function = value.child_by_field_name("function") if value.type == "call_expression" else None
    return function is not None and ("module", "createRequire") in bindings.callee(function)


def _import_clause(bindings: Bindings, clause: Node, source: str | None) -> None:
    if source is None:
        return
    for child in clause.named_children:
        if child.type == "identifier":
            bindings.bind(text(child), source)
        elif child.type == "namespace_import" and child.named_children:
            bindings.bind(text(child.named_children[-1]), source)
        elif child.type == "named_imports":
            for specifier in child.named_children:
                name, alias = specifier.child_by_field_name("name"), specifier.child_by_field_name("alias")
                if name is not None:
                    bindings.bind(text(alias or name), source, text(name).strip("'\""))


def _declarator(bindings: Bindings, name: Node, value: Node) -> None:
    inner = unwrap(value)
    module = bindings.required_module(inner)
    member: str | None = None
    if module is None and inner.type == "member_expression":
        obj, prop = inner.child_by_field_name("object"), inner.child_by_field_name("property")
        if obj is not None and prop is not None:
            module, member = bindings.required_module(obj), text(prop)
    if module is None and inner.type in ("identifier", "member_expression"):
        aliases = bindings.callee(inner)  # const p = path; const spawn = cp.spawn
        if name.type == "identifier":
            for aliased_module, aliased_member in aliases:
                bindings.bind(text(name), aliased_module, aliased_member)
        if aliases:
            return
    if module is not None:
        if name.type == "identifier":
            bindings.bind(text(name), module, member)
        elif name.type == "object_pattern" and member is None:
            _destructure(bindings, name, module)
        return
    if name.type == "identifier":
        key = text(name)
        bindings.constants[key] = value if bindings.constants.get(key, value) == value else None


def _destructure(bindings: Bindings, pattern: Node, module: str) -> None:
    for child in pattern.named_children:
        if child.type == "shorthand_property_identifier_pattern":
            bindings.bind(text(child), module, text(child))
        elif child.type == "pair_pattern":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if key is not None and value is not None and value.type == "identifier":
                bindings.bind(text(value), module, text(key).strip("'\""))
