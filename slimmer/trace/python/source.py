"""What one Python source file does that matters for its files: imports (absolute, relative,
inside functions, guarded by `try`), calls that import, run programs, load libraries or read
data (kept as expressions to evaluate per interpreter), and its `__all__`.

Parsed with tree-sitter-python, so the image's Python may be newer or older than the one slim
runs on. The facts of a file depend only on its bytes and are cached by content.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Query, QueryCursor

from slimmer.trace.python.expressions import MAX_DEPTH, Call, Converter, Expr, dotted, strings_in

_LANGUAGE = Language(tree_sitter_python.language())
_QUERY = Query(_LANGUAGE, """
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @future
(call function: [(identifier) (attribute)] @callee) @call
(assignment left: (identifier) @target right: (_) @value) @assign
(augmented_assignment left: (identifier) @target right: (_) @value) @assign
(attribute object: (identifier) @attribute_head)
""")

# Calls whose arguments are worth reading, by the last part of their name: checked on the text
# before the full name is resolved, which keeps the walk over every call of a big file cheap.
INTERESTING_CALLS = frozenset({
    # importing by name
    "__import__", "import_module", "find_spec",
    # running programs
    "run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput", "system", "popen",
    "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "execlpe", "spawnv", "spawnve",
    "spawnvp", "spawnvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "posix_spawn", "posix_spawnp",
    "create_subprocess_exec", "create_subprocess_shell", "which",
    # native libraries
    "CDLL", "PyDLL", "LoadLibrary", "find_library",
    # data
    "open", "ZoneInfo", "files", "read_text", "read_binary", "read_bytes", "open_text", "open_binary", "get_data",
    "version", "distribution", "metadata", "entry_points", "load_entry_point", "setlocale", "extend",
    # folders web frameworks serve and render from
    "Flask", "Blueprint", "FileSystemLoader", "StaticFiles", "Jinja2Templates",
})
_MAIN_TEST = re.compile(rb"""^\s*(__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__)\s*$""")
_SCOPES = frozenset({"function_definition", "lambda"})
_GUARDS = frozenset({"try_statement", "if_statement", "function_definition", "with_statement"})


@dataclass(frozen=True)
class ImportUse:
    """`import a.b` (module "a.b"), `from ..x import y, z` (module "x", level 2, names y, z)."""

    module: str
    level: int
    names: tuple[str, ...]  # ("*",) for a star import
    line: int
    guarded: bool  # inside try/if/with or a function: a missing module need not be an error
    lazy: bool = False  # inside a function: runs only when the function is called
    main_only: bool = False  # under `if __name__ == "__main__":`: runs only when the file is the script
    on_attribute: bool = False  # in a module-level `__getattr__` (PEP 562): runs when code asks for the name
    function: str = ""  # the name of the function it is in ("" at module level)
    instead_of: tuple[str, ...] = ()  # in `except ImportError:` after `try: import these`: a fallback


@dataclass(frozen=True)
class CallUse:
    call: Call
    line: int
    guarded: bool
    lazy: bool = False
    main_only: bool = False
    on_attribute: bool = False
    parameters: frozenset[str] = frozenset()  # of the function the call is in: values its callers give


@dataclass(frozen=True)
class ModuleFacts:
    imports: tuple[ImportUse, ...]
    calls: tuple[CallUse, ...]
    all_names: tuple[str, ...] | None  # __all__, when it is literal
    syntax_errors: int  # lines tree-sitter could not parse (the rest is still read)
    attributes: frozenset[str] = frozenset()  # dotted names used on imported modules (`numpy.random.rand`)


def parse_source(data: bytes) -> ModuleFacts:
    tree = Parser(_LANGUAGE).parse(data)
    captures = QueryCursor(_QUERY).captures(tree.root_node)
    imports = [use for node in captures.get("import", []) for use in _imports(node)]
    imports += [ImportUse("__future__", 0, (), node.start_point.row + 1, False) for node in captures.get("future", [])]
    aliases = _aliases(imports, captures.get("import", []))
    assignments = _assignments(captures.get("assign", []))
    converter = assignments.converter = Converter(aliases, assignments.lookup)
    calls = []
    for node in captures.get("call", []):
        callee = node.child_by_field_name("function")
        if callee is None or callee.text is None:
            continue
        last = callee.text.rsplit(b".", 1)[-1].decode("utf-8", "replace")
        if last in INTERESTING_CALLS:
            calls.append(CallUse(converter.call(node), node.start_point.row + 1, _guarded(node), _lazy(node),
                                 _main_only(node), _in_getattr(node), _parameters(node)))
    attributes = set()
    imported_names = {name.encode() for name in aliases}
    for head in captures.get("attribute_head", []):
        if head.text in imported_names and head.parent is not None:
            chain = head.parent
            while chain.parent is not None and chain.parent.type == "attribute":
                chain = chain.parent
            name = dotted(chain)
            if name is not None:
                attributes.add(converter.resolve_name(name))
    return ModuleFacts(tuple(imports), tuple(calls), assignments.all_names(converter),
                       _error_lines(tree.root_node) if tree.root_node.has_error else 0, frozenset(attributes))


def _imports(node: Node) -> list[ImportUse]:
    line = node.start_point.row + 1
    guarded, lazy, main_only, on_attribute = _guarded(node), _lazy(node), _main_only(node), _in_getattr(node)
    function = _function_name(node)
    instead_of = _fallback_for(node)
    if node.type == "import_statement":
        return [ImportUse(_imported_name(name), 0, (), line, guarded, lazy, main_only, on_attribute, function,
                          instead_of) for name in node.children_by_field_name("name")]
    module_node = node.child_by_field_name("module_name")
    level, module = 0, ""
    if module_node is not None and module_node.type == "relative_import":
        for child in module_node.children:
            if child.type == "import_prefix":
                level = (child.text or b"").count(b".")
            elif child.type == "dotted_name":
                module = dotted_text(child)
    elif module_node is not None:
        module = dotted_text(module_node)
    if any(child.type == "wildcard_import" for child in node.children):
        names: tuple[str, ...] = ("*",)
    else:
        names = tuple(_imported_name(name) for name in node.children_by_field_name("name"))
    return [ImportUse(module, level, names, line, guarded, lazy, main_only, on_attribute, function, instead_of)]


def dotted_text(node: Node) -> str:
    return ".".join((part.text or b"").decode("utf-8", "replace") for part in node.named_children
                    if part.type == "identifier")


def _imported_name(node: Node) -> str:
    if node.type == "aliased_import":
        inner = node.child_by_field_name("name")
        return dotted_text(inner) if inner is not None else ""
    return dotted_text(node)


def _aliases(imports: list[ImportUse], nodes: list[Node]) -> dict[str, str]:
    """Local name -> dotted name it stands for: `import os.path` binds os; `import numpy as np`
    binds np; `from subprocess import run as go` binds go to subprocess.run."""
    aliases: dict[str, str] = {}
    for node in nodes:
        if node.type == "import_statement":
            for name in node.children_by_field_name("name"):
                if name.type == "aliased_import":
                    alias = name.child_by_field_name("alias")
                    inner = name.child_by_field_name("name")
                    if alias is not None and inner is not None:
                        aliases[(alias.text or b"").decode()] = dotted_text(inner)
                else:
                    head = dotted_text(name).partition(".")[0]
                    aliases.setdefault(head, head)
            continue
        module_node = node.child_by_field_name("module_name")
        if module_node is None or module_node.type == "relative_import":
            continue
        module = dotted_text(module_node)
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                inner, alias = name.child_by_field_name("name"), name.child_by_field_name("alias")
                if inner is not None and alias is not None:
                    aliases[(alias.text or b"").decode()] = f"{module}.{dotted_text(inner)}"
            else:
                aliases[dotted_text(name)] = f"{module}.{dotted_text(name)}"
    return aliases


def _fallback_for(node: Node) -> tuple[str, ...]:
    """For an import in the `except ImportError` clause of a `try` whose body is absolute imports
    (`try: from _decimal import * / except ImportError: from _pydecimal import *`): those modules."""
    clause = node.parent
    while clause is not None and clause.type not in ("except_clause", "function_definition", "module"):
        clause = clause.parent
    if clause is None or clause.type != "except_clause" or b"ImportError" not in (clause.text or b"").split(b":")[0]:
        return ()
    statement = clause.parent
    body = statement.child_by_field_name("body") if statement is not None else None
    modules = []
    for child in body.named_children if body is not None else ():
        if child.type == "import_statement":
            modules += [_imported_name(name) for name in child.children_by_field_name("name")]
        elif child.type == "import_from_statement":
            module = child.child_by_field_name("module_name")
            if module is None or module.type != "dotted_name":
                return ()
            modules.append(dotted_text(module))
        elif child.type not in ("comment", "pass_statement"):
            return ()
    return tuple(modules)


def _function_name(node: Node) -> str:
    parent = node.parent
    while parent is not None and parent.type != "function_definition":
        parent = parent.parent
    name = parent.child_by_field_name("name") if parent is not None else None
    return name.text.decode() if name is not None and name.text is not None else ""


def _parameters(node: Node) -> frozenset[str]:
    parent = node.parent
    while parent is not None and parent.type != "function_definition":
        parent = parent.parent
    parameters = parent.child_by_field_name("parameters") if parent is not None else None
    names = set()
    for child in parameters.named_children if parameters is not None else ():
        name = child if child.type == "identifier" else child.child_by_field_name("name")
        if name is None:
            name = next((c for c in child.named_children if c.type == "identifier"), None)
        if name is not None and name.text is not None:
            names.add(name.text.decode())
    return frozenset(names)


def _in_getattr(node: Node) -> bool:
    """Inside a module's `def __getattr__` (at module level, possibly under an `if`; not a method)."""
    parent = node.parent
    while parent is not None and parent.type != "function_definition":
        parent = parent.parent
    name = parent.child_by_field_name("name") if parent is not None else None
    if parent is None or name is None or name.text != b"__getattr__":
        return False
    outer = parent.parent
    while outer is not None:
        if outer.type in ("class_definition", "function_definition"):
            return False
        outer = outer.parent
    return True


def _main_only(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "if_statement":
            condition = parent.child_by_field_name("condition")
            text = (condition.text or b"") if condition is not None else b""
            if _MAIN_TEST.match(text):
                return True
        parent = parent.parent
    return False


def _lazy(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _SCOPES:
            return True
        parent = parent.parent
    return False


def _guarded(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _GUARDS:
            return True
        parent = parent.parent
    return False


@dataclass
class _Assignments:
    """Variables assigned exactly once in their scope (module or function): their value is known."""

    by_scope: dict[int, dict[str, list[Node]]]
    scope_starts: list[int]
    scope_ends: list[int]
    converter: Converter | None = None

    def lookup(self, name: str, at: int, depth: int) -> Expr | None:
        if self.converter is None:
            return None
        for scope in self._scopes_around(at):
            values = self.by_scope.get(scope, {}).get(name)
            if values:
                # straight-line code: the one assignment before the use (a later one, or a
                # parameter reassigned, `module = __import__(module)`, is not the value here)
                before = [value for value in values if value.end_byte < at]
                return self.converter.convert(before[0], depth) if len(values) == 1 and before else None
        return None

    def _scopes_around(self, at: int) -> list[int]:
        index = bisect.bisect_right(self.scope_starts, at)
        inner = [self.scope_starts[i] for i in range(index) if self.scope_ends[i] > at]
        return sorted(inner, reverse=True) + [0]

    def all_names(self, converter: Converter) -> tuple[str, ...] | None:
        values = self.by_scope.get(0, {}).get("__all__")
        if not values:
            return None
        return tuple(name for value in values for name in strings_in(converter.convert(value, MAX_DEPTH)))


def _assignments(nodes: list[Node]) -> _Assignments:
    by_scope: dict[int, dict[str, list[Node]]] = {}
    scopes: dict[int, int] = {}
    for node in nodes:
        target = node.child_by_field_name("left")
        value = node.child_by_field_name("right")
        if target is None or value is None:
            continue
        scope_node = node.parent
        while scope_node is not None and scope_node.type not in _SCOPES:
            scope_node = scope_node.parent
        scope = scope_node.start_byte if scope_node is not None else 0
        if scope_node is not None:
            scopes[scope] = scope_node.end_byte
        by_scope.setdefault(scope, {}).setdefault((target.text or b"").decode(), []).append(value)
    starts = sorted(scopes)
    return _Assignments(by_scope, starts, [scopes[s] for s in starts])


def _error_lines(root: Node) -> int:
    lines: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            lines.add(node.start_point.row + 1)
            continue
        if node.has_error:
            stack.extend(node.children)
    return len(lines)
