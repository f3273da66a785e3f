"""What the names of one module stand for: modules, their members, `require` functions, constants.

`spawn(...)` runs a program only if `spawn` came from `child_process`; `p.join(__dirname, 'x')`
builds a path only if `p` is the `path` module. Names are collected over the whole file, without
scopes: a name bound in several ways stands for each of them (the analysis errs towards keeping).
The forms understood: `const x = require('m')`, `const {a, b: c} = require('m')`,
`const x = require('m').a`, `x = require('m')`, TypeScript's and Babel's
`__importDefault(require('m'))`, `await import('m')`, `import x, * as ns, {a as b} from 'm'`,
`createRequire(...)` results, aliases (`const p = path`, `const run = cp.spawn`, `var r = require`),
`const NAME = <string expression>` and `for (const NAME of [...])` (looked up when a value needs them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from slimmer.trace.node.builtins import builtin_name
from slimmer.trace.node.parse import string_literal, text
from slimmer.trace.node.tokens import TokenIndex

# Helpers that compilers wrap around a require: the module stays the same.
_INTEROP_WRAPPERS = frozenset({"__importDefault", "__importStar", "_interopRequireDefault",
                               "_interopRequireWildcard", "__toESM", "__toCommonJS"})
# Modules whose functions the analysis follows (names bound to them are looked for when called).
FOLLOWED_MODULES = frozenset({"child_process", "fs", "path", "path/posix", "worker_threads", "module", "url",
                              "cross-spawn", "execa", "express", "serve-static"})

Member = tuple[str, str | None]  # (module, member): None for the module itself


@dataclass
class Bindings:
    """Names of one file: module (and member) bindings, require functions, constant strings."""

    index: TokenIndex
    modules: dict[str, set[Member]] = field(default_factory=dict)
    require_names: set[str] = field(default_factory=lambda: {"require"})
    _constants: dict[str, Node | None] = field(default_factory=dict)

    def bind(self, name: str, module: str, member: str | None = None) -> None:
        self.modules.setdefault(name, set()).add((normalise_module(module), member))

    def followed_names(self) -> set[str]:
        """Names bound to a module (or a member of one) the analysis follows."""
        return {name for name, members in self.modules.items() if any(m in FOLLOWED_MODULES for m, _ in members)}

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
            if member is None or member in ("default", "promises"):
                found.add((module, name))  # fs.promises.readFile, x_1.default.spawn
        return found

    def required_module(self, node: Node) -> str | None:
        """The literal module of `require('m')`, `import('m')` (or an interop wrapper around them)."""
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

    def iterated(self, name: str) -> list[Node] | None:
        """The elements `name` takes in `for (const name of [a, b])` (or of a constant array), if it is
        that loop's variable and nothing else."""
        loops = [n.parent for n in self.index.nodes(name)
                 if n.parent is not None and n.parent.type == "for_in_statement"
                 and n.parent.child_by_field_name("left") == n]
        if len(loops) != 1 or self.constant(name) is not None:
            return None
        operator = loops[0].child_by_field_name("operator")
        array = loops[0].child_by_field_name("right")
        if operator is None or text(operator) != "of" or array is None:
            return None
        if array.type == "identifier":
            array = self.constant(text(array))
        return array.named_children if array is not None and array.type == "array" else None

    def constant(self, name: str) -> Node | None:
        """The value a name is declared with, when it is declared once (`const LOCALES = './l/'`)."""
        if name not in self._constants:
            values = {(v.start_byte, v.end_byte): v for v in (_declared_value(n) for n in self.index.nodes(name))
                      if v is not None}
            self._constants[name] = next(iter(values.values())) if len(values) == 1 else None
        return self._constants[name]


def normalise_module(specifier: str) -> str:
    """`node:fs`, `fs/promises` and `fs` offer the same functions to the analysis."""
    name = builtin_name(specifier)
    return name.removesuffix("/promises") if name in ("fs/promises", "dns/promises", "timers/promises") else name


def unwrap(node: Node) -> Node:
    """`(x)`, `(0, x)` and `await x` are x for naming purposes."""
    while True:
        if node.type in ("parenthesized_expression", "sequence_expression") and node.named_children:
            node = node.named_children[-1]
        elif node.type == "await_expression" and node.named_children:
            node = node.named_children[0]
        else:
            return node


def is_call_of(node: Node) -> Node | None:
    """The call expression whose callee is `node` (through parentheses and `(0, x)`), if any."""
    current = node
    while current.parent is not None and current.parent.type in ("parenthesized_expression", "sequence_expression"):
        if current.parent.named_children[-1] != current:
            return None
        current = current.parent
    parent = current.parent
    if parent is not None and parent.type == "call_expression" and parent.child_by_field_name("function") == current:
        return parent
    return None


def collect_bindings(index: TokenIndex) -> Bindings:
    bindings = Bindings(index)
    for keyword in index.nodes("import"):
        statement = keyword.parent
        if statement is not None and statement.type == "import_statement":
            clause, source = _import_parts(statement)
            if clause is not None and source is not None:
                _import_clause(bindings, clause, source)
        elif keyword.type == "import" and statement is not None and statement.type == "call_expression":
            _bind_result(bindings, statement)
    # `const r = createRequire(import.meta.url)`: then `r('m')` is a require too.
    for node in index.nodes("createRequire"):
        call = is_call_of(_callee_end(node))
        created = _declared_name(_outer_value(call)) if call is not None else None
        if created is not None:
            bindings.require_names.add(created)
    for node in index.nodes("require"):  # `var nodeRequire = require`: hidden from bundlers
        alias = _declared_name(node)
        if alias is not None:
            bindings.require_names.add(alias)
    for name in sorted(bindings.require_names):
        for node in index.nodes(name):
            call = is_call_of(node)
            if call is not None:
                _bind_result(bindings, call)
    for name in sorted(bindings.followed_names()):
        for node in index.nodes(name):
            _bind_alias(bindings, node)
    return bindings


def _callee_end(node: Node) -> Node:
    """`createRequire` in `module.createRequire(...)` is called as the member expression."""
    parent = node.parent
    if parent is not None and parent.type == "member_expression" and parent.child_by_field_name("property") == node:
        return parent
    return node


def _import_parts(statement: Node) -> tuple[Node | None, str | None]:
    clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
    source = statement.child_by_field_name("source")
    return clause, string_literal(source) if source is not None else None


def _outer_value(node: Node) -> Node:
    """Up from a require call through `await`, parentheses and interop wrappers."""
    while node.parent is not None:
        parent = node.parent
        if parent.type in ("await_expression", "parenthesized_expression"):
            node = parent
        elif parent.type == "arguments" and parent.parent is not None and parent.parent.type == "call_expression":
            function = parent.parent.child_by_field_name("function")
            if function is None or text(function) not in _INTEROP_WRAPPERS:
                break
            node = parent.parent
        else:
            break
    return node


def _declared_name(value: Node) -> str | None:
    parent = value.parent
    if parent is not None and parent.type == "variable_declarator" and parent.child_by_field_name("value") == value:
        name = parent.child_by_field_name("name")
        return text(name) if name is not None and name.type == "identifier" else None
    return None


def _bind_result(bindings: Bindings, call: Node) -> None:
    """`x = require('m')`, `{a, b: c} = require('m')`, `x = require('m').a`."""
    module = bindings.required_module(call)
    if module is None:
        return
    value = _outer_value(call)
    member: str | None = None
    parent = value.parent
    if parent is not None and parent.type == "member_expression" and parent.child_by_field_name("object") == value:
        prop = parent.child_by_field_name("property")
        member, value = (text(prop) if prop is not None else None), parent
        parent = value.parent
    if parent is None:
        return
    if parent.type == "variable_declarator" and parent.child_by_field_name("value") == value:
        target = parent.child_by_field_name("name")
    elif parent.type == "assignment_expression" and parent.child_by_field_name("right") == value:
        target = parent.child_by_field_name("left")
    else:
        return
    if target is None:
        return
    if target.type == "identifier":
        bindings.bind(text(target), module, member)
    elif target.type == "object_pattern" and member is None:
        _destructure(bindings, target, module)


def _bind_alias(bindings: Bindings, node: Node) -> None:
    """`const p = path`, `const run = cp.spawn`: the new name stands for the same thing."""
    value = node
    if node.parent is not None and node.parent.type == "member_expression" and \
            node.parent.child_by_field_name("object") == node:
        value = node.parent
    name = _declared_name(value)
    if name is not None and name != text(node):
        for module, member in bindings.callee(value):
            bindings.bind(name, module, member)


def _declared_value(name: Node) -> Node | None:
    parent = name.parent
    if parent is not None and parent.type == "variable_declarator" and parent.child_by_field_name("name") == name:
        return parent.child_by_field_name("value")
    return None


def _import_clause(bindings: Bindings, clause: Node, source: str) -> None:
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


def _destructure(bindings: Bindings, pattern: Node, module: str) -> None:
    for child in pattern.named_children:
        if child.type == "shorthand_property_identifier_pattern":
            bindings.bind(text(child), module, text(child))
        elif child.type == "pair_pattern":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if key is not None and value is not None and value.type == "identifier":
                bindings.bind(text(value), module, text(key).strip("'\""))
