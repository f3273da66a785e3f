"""What one Python source file does that matters for its files: imports (absolute, relative,
inside functions, guarded by `try`), calls that import, run programs, load libraries or read
data (kept as expressions to evaluate per interpreter), and its `__all__`.

Parsed with tree-sitter-python, so the image's Python may be newer or older than the one slim
runs on. The facts of a file depend only on its bytes and are cached by content.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import tree_sitter_python
from tree_sitter import Language, Node, Parser

from slimmer.trace.python.expressions import MAX_DEPTH, Call, Converter, Expr, dotted, strings_in
from slimmer.trace.tokens import TokenIndex

_LANGUAGE = Language(tree_sitter_python.language())
# Words of a file: the keywords and names the analysis looks for are among them (non-ASCII bytes
# are parts of names: Python's identifiers may be any letters).
_WORD = re.compile(rb"[A-Za-z_\x80-\xff][\w\x80-\xff]*")
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_" + bytes(range(0x80, 0x100)))
_DOT = ord(".")
_DOT_AFTER = re.compile(rb"(?:\s|\\)*\.")  # a name's attribute may follow across spaces and lines
_BLANKS = b" \t\f\v\r\n\\"
_IMPORT_STATEMENTS = frozenset({"import_statement", "import_from_statement"})
_ASSIGNMENTS = frozenset({"assignment", "augmented_assignment"})

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
    """The facts of one file. The tree is parsed whole (Python's indentation allows nothing less),
    but only visited where the words that matter occur: `import`, the names of INTERESTING_CALLS,
    the names imports bind, `__all__`; a file's words are listed once, so words it lacks cost nothing."""
    tree = Parser(_LANGUAGE).parse(data)
    words = frozenset(_WORD.findall(data))
    index = TokenIndex(data, tree.root_node, frozenset({"identifier"}), _WORD_BYTES, "string_content")
    statements = [node.parent for node in index.nodes("import")] if b"import" in words else []
    import_nodes = [node for node in statements if node is not None and node.type in _IMPORT_STATEMENTS]
    imports = [use for node in import_nodes for use in _imports(node)]
    imports += [ImportUse("__future__", 0, (), node.start_point.row + 1, False) for node in statements
                if node is not None and node.type == "future_import_statement"]
    aliases = _aliases(imports, import_nodes)
    assignments = _Assignments(index, words)
    converter = assignments.converter = Converter(aliases, assignments.lookup)
    calls = [CallUse(converter.call(node), node.start_point.row + 1, _guarded(node), _lazy(node), _main_only(node),
                     _in_getattr(node), _parameters(node)) for node in _interesting_calls(index, words)]
    return ModuleFacts(tuple(imports), tuple(calls), assignments.all_names(converter),
                       _error_lines(tree.root_node) if tree.root_node.has_error else 0,
                       _attributes(data, tree.root_node, aliases, converter))


def _attributes(data: bytes, root: Node, aliases: dict[str, str], converter: Converter) -> frozenset[str]:
    """The dotted names used on imported names (`np.random.rand` of `import numpy as np`): each
    imported name followed by a dot (possibly across spaces or lines), then the node there."""
    found = set()
    for name in aliases:
        needle = name.encode()
        start = data.find(needle)
        while start >= 0:
            end = start + len(needle)
            if (start == 0 or (data[start - 1] not in _WORD_BYTES and data[start - 1] != _DOT)) and \
                    _DOT_AFTER.match(data, end):
                head = root.descendant_for_byte_range(start, end)
                parent = head.parent if head is not None and head.type == "identifier" else None
                if parent is not None and parent.type == "attribute" and parent.child_by_field_name("object") == head:
                    chain = parent
                    while chain.parent is not None and chain.parent.type == "attribute":
                        chain = chain.parent
                    dotted_name = dotted(chain)
                    if dotted_name is not None:
                        found.add(converter.resolve_name(dotted_name))
            start = data.find(needle, end)
    return frozenset(found)


def _interesting_calls(index: TokenIndex, words: frozenset[bytes]) -> list[Node]:
    """The calls of a name (`open(...)`) or attribute (`subprocess.run(...)`) whose last part is
    one of INTERESTING_CALLS, in the order of the source (a call before the calls inside it)."""
    calls: dict[int, Node] = {}
    for word in INTERESTING_CALLS:
        if word.encode() not in words:
            continue
        for node in index.nodes(word):
            callee = node.parent if node.parent is not None and node.parent.type == "attribute" and \
                node.parent.child_by_field_name("attribute") == node else node
            call = callee.parent
            if call is None or call.type != "call" or call.child_by_field_name("function") != callee:
                continue
            if (callee.text or b"").rsplit(b".", 1)[-1].decode("utf-8", "replace") in INTERESTING_CALLS:
                calls[call.id] = call
    return sorted(calls.values(), key=lambda call: (call.start_byte, -call.end_byte))


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
    """`a.b.c` of a dotted name: its text without the spaces and line continuations it may hold."""
    if node.type == "dotted_name" and not node.has_error:
        return (node.text or b"").translate(None, _BLANKS).decode("utf-8", "replace")
    return ".".join((part.text or b"").decode("utf-8", "replace") for part in node.named_children
                    if part.type == "identifier")


def _imported_name(node: Node) -> str:
    if node.type == "aliased_import":
        inner = node.child_by_field_name("name")
        return dotted_text(inner) if inner is not None else ""
    return dotted_text(node)


def _aliases(imports: list[ImportUse], nodes: list[Node]) -> dict[str, str]:
    """Local name -> dotted name it stands for: `import os.path` binds os; `import numpy as np`
    binds np; `from subprocess import run as go` binds go to subprocess.run. A name bound twice
    by `as` or `from` stands for its last binding in the source, as when both statements run."""
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


def _ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _enclosing_function(node: Node) -> Node | None:
    return next((parent for parent in _ancestors(node) if parent.type == "function_definition"), None)


def _parameters(node: Node) -> frozenset[str]:
    function = _enclosing_function(node)
    parameters = function.child_by_field_name("parameters") if function is not None else None
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
    function = _enclosing_function(node)
    name = function.child_by_field_name("name") if function is not None else None
    if function is None or name is None or name.text != b"__getattr__":
        return False
    return not any(outer.type in ("class_definition", "function_definition") for outer in _ancestors(function))


def _main_only(node: Node) -> bool:
    for parent in _ancestors(node):
        if parent.type == "if_statement":
            condition = parent.child_by_field_name("condition")
            if _MAIN_TEST.match((condition.text or b"") if condition is not None else b""):
                return True
    return False


def _lazy(node: Node) -> bool:
    return any(parent.type in _SCOPES for parent in _ancestors(node))


def _guarded(node: Node) -> bool:
    return any(parent.type in _GUARDS for parent in _ancestors(node))


@dataclass
class _Scopes:
    """Where one variable is assigned: value nodes by scope (the start of its function or lambda,
    0 for the module), and the scopes' extents."""

    by_scope: dict[int, list[Node]]
    starts: list[int]
    ends: list[int]

    def around(self, at: int) -> list[int]:
        index = bisect.bisect_right(self.starts, at)
        inner = [self.starts[i] for i in range(index) if self.ends[i] > at]
        return sorted(inner, reverse=True) + [0]


@dataclass
class _Assignments:
    """Variables assigned exactly once in their scope (module or function): their value is known.
    A variable's assignments are looked for when its value is first asked for."""

    index: TokenIndex
    words: frozenset[bytes]
    converter: Converter | None = None
    _variables: dict[str, _Scopes] = field(default_factory=dict)

    def lookup(self, name: str, at: int, depth: int) -> Expr | None:
        if self.converter is None:
            return None
        scopes = self._scopes(name)
        for scope in scopes.around(at):
            values = scopes.by_scope.get(scope)
            if values:
                # straight-line code: the one assignment before the use (a later one, or a
                # parameter reassigned, `module = __import__(module)`, is not the value here)
                before = [value for value in values if value.end_byte < at]
                return self.converter.convert(before[0], depth) if len(values) == 1 and before else None
        return None

    def all_names(self, converter: Converter) -> tuple[str, ...] | None:
        values = self._scopes("__all__").by_scope.get(0)
        if not values:
            return None
        return tuple(name for value in values for name in strings_in(converter.convert(value, MAX_DEPTH)))

    def _scopes(self, name: str) -> _Scopes:
        found = self._variables.get(name)
        if found is None:
            found = self._variables[name] = _assigned(self.index.nodes(name) if name.encode() in self.words else [])
        return found


def _assigned(occurrences: list[Node]) -> _Scopes:
    """The scopes of the assignments (`name = value`, `name += value`) among a name's occurrences."""
    by_scope: dict[int, list[Node]] = {}
    extents: dict[int, int] = {}
    for target in occurrences:
        node = target.parent
        if node is None or node.type not in _ASSIGNMENTS or node.child_by_field_name("left") != target:
            continue
        value = node.child_by_field_name("right")
        if value is None:
            continue
        scope_node = node.parent
        while scope_node is not None and scope_node.type not in _SCOPES:
            scope_node = scope_node.parent
        scope = scope_node.start_byte if scope_node is not None else 0
        if scope_node is not None:
            extents[scope] = scope_node.end_byte
        by_scope.setdefault(scope, []).append(value)
    starts = sorted(extents)
    return _Scopes(by_scope, starts, [extents[s] for s in starts])


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
