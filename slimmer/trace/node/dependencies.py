"""What one JavaScript module loads, reads and runs, found in its syntax tree.

Every code path counts, not the one a probe run takes: a `require` inside a function that runs
for one subcommand only is a dependency like a top-level `import`. Found:

- modules: `require('x')` (also through `createRequire` and `eval('require')`), `require.resolve`,
  `import`/`export ... from`, `import('x')`, `import.meta.resolve`;
- programs: `child_process` spawn/exec/execFile/fork (and `cross-spawn`, `execa`) with their
  argument lists, `new Worker(...)`;
- files: paths given to `fs` functions, `path.join(__dirname, ...)` and
  `new URL('./x', import.meta.url)` (data files, templates, static directories).

Specifiers and paths are evaluated as far as the code allows (see evaluate.py); what remains
unknown is kept as holes for the tracer to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tree_sitter import Node

from slimmer.trace.node.bindings import Bindings, Member, collect_bindings, unwrap
from slimmer.trace.node.evaluate import UNKNOWN, Evaluator, StaticString
from slimmer.trace.node.parse import captures, line, parse, query, text


class DependencyKind(str, Enum):
    REQUIRE = "require"
    IMPORT = "import"
    DYNAMIC_IMPORT = "dynamic import"
    REQUIRE_RESOLVE = "require.resolve"
    IMPORT_RESOLVE = "import.meta.resolve"
    WORKER = "worker"  # new Worker(file): a main module of its own
    FORK = "fork"  # child_process.fork(module): a node process running the module
    SPAWN = "spawn"  # a program and its arguments
    SHELL = "shell"  # a command line run by /bin/sh -c
    FILE = "file"  # a path the code reads (or hands to a library that does)


@dataclass(frozen=True)
class Dependency:
    kind: DependencyKind
    line: int
    value: StaticString  # the specifier, path, program or command line
    args: tuple[StaticString, ...] | None = None  # SPAWN/FORK arguments; None when not written as a list
    optional: bool = False  # inside a `try` block: the code expects that it may be missing
    exec_path: bool = False  # SPAWN of process.execPath: the node binary running this module


_PATTERNS = query("""
(import_statement source: (string) @source)
(export_statement source: (string) @source)
(call_expression function: (_) @function arguments: (arguments) @arguments) @call
(new_expression constructor: (_) @constructor arguments: (arguments) @arguments) @new
""")

_SPAWNERS: dict[Member, DependencyKind] = {
    **{("child_process", f): DependencyKind.SPAWN for f in ("spawn", "spawnSync", "execFile", "execFileSync")},
    **{("child_process", f): DependencyKind.SHELL for f in ("exec", "execSync")},
    ("child_process", "fork"): DependencyKind.FORK,
    **{("cross-spawn", f): DependencyKind.SPAWN for f in (None, "spawn", "sync", "default")},
    **{("execa", f): DependencyKind.SPAWN for f in (None, "execa", "execaSync", "sync", "default")},
}
_FS_READERS = frozenset({
    "readFileSync", "readFile", "createReadStream", "existsSync", "exists", "statSync", "stat", "lstatSync", "lstat",
    "accessSync", "access", "openSync", "open", "readdirSync", "readdir", "opendirSync", "opendir", "readlinkSync",
    "readlink", "realpathSync", "realpath", "copyFileSync", "copyFile", "cpSync", "cp", "watch", "watchFile",
})
_PATH_BUILDERS = frozenset({("path", "join"), ("path", "resolve")})
_FUNCTION_BOUNDARIES = frozenset({"function_declaration", "function_expression", "arrow_function",
                                  "method_definition", "generator_function_declaration", "generator_function",
                                  "class_body", "program"})


def extract(source: bytes, path: str, cwd: str) -> list[Dependency]:
    """The dependencies of the module at `path` (its real path), run from the directory `cwd`."""
    root = parse(source).root_node
    bindings = collect_bindings(root)
    return _Extractor(bindings, Evaluator(path, bindings, cwd)).run(root)


class _Extractor:
    def __init__(self, bindings: Bindings, evaluator: Evaluator) -> None:
        self.bindings = bindings
        self.evaluator = evaluator
        self.found: list[Dependency] = []

    def run(self, root: Node) -> list[Dependency]:
        for _, match in captures(_PATTERNS, root):
            if "source" in match:
                self._add(DependencyKind.IMPORT, match["source"][0], match["source"][0])
            elif "function" in match:
                self._call(match["call"][0], match["function"][0], match["arguments"][0].named_children)
            else:
                self._new(match["new"][0], match["constructor"][0], match["arguments"][0].named_children)
        return self.found

    def _add(self, kind: DependencyKind, at: Node, value_node: Node | None) -> None:
        value = self.evaluator.value(value_node) if value_node is not None else UNKNOWN
        self.found.append(Dependency(kind, line(at), value, optional=_in_try(at)))

    def _call(self, call: Node, function: Node, args: list[Node]) -> None:
        first = args[0] if args else None
        callee = unwrap(function)
        if callee.type == "import":
            self._add(DependencyKind.DYNAMIC_IMPORT, callee, first)
            return
        if (callee.type == "identifier" and text(callee) in self.bindings.require_names) or _is_eval_require(callee):
            self._add(DependencyKind.REQUIRE, callee, first)
            return
        if callee.type == "member_expression":
            whole = text(callee)
            obj = callee.child_by_field_name("object")
            if whole == "import.meta.resolve":
                self._add(DependencyKind.IMPORT_RESOLVE, callee, first)
                return
            if whole.endswith(".resolve") and obj is not None and obj.type == "identifier" \
                    and text(obj) in self.bindings.require_names:
                self._add(DependencyKind.REQUIRE_RESOLVE, callee, first)
                return
        for member in self.bindings.callee(function):
            if member in _SPAWNERS:
                self._spawn(_SPAWNERS[member], callee, args)
            elif member[0] == "fs" and member[1] in _FS_READERS and first is not None:
                self._add(DependencyKind.FILE, callee, first)
            elif member in _PATH_BUILDERS and not self._inside_path_builder(call):
                self._add(DependencyKind.FILE, callee, call)

    def _new(self, new: Node, constructor: Node, args: list[Node]) -> None:
        if not args:
            return
        if ("worker_threads", "Worker") in self.bindings.callee(constructor):
            self._add(DependencyKind.WORKER, constructor, args[0])
        elif text(constructor) == "URL" and len(args) == 2 and not self._inside_path_builder(new):
            self._add(DependencyKind.FILE, constructor, new)

    def _spawn(self, kind: DependencyKind, at: Node, args: list[Node]) -> None:
        if not args:
            return
        program = args[0]
        argv: tuple[StaticString, ...] | None = None
        shell = False
        for arg in args[1:]:
            if arg.type == "array" and argv is None:
                argv = tuple(UNKNOWN if a.type == "spread_element" else self.evaluator.value(a)
                             for a in arg.named_children)
            elif arg.type == "object":
                shell = shell or _sets_true(arg, "shell")
        if kind is DependencyKind.SPAWN and shell:
            line_value = self.evaluator.value(program)
            for word in argv or ():
                line_value = line_value + StaticString.of(" ") + word
            self.found.append(Dependency(DependencyKind.SHELL, line(at), line_value, optional=_in_try(at)))
            return
        if argv is None and kind is not DependencyKind.SHELL and len(args) > 1 and args[1].type != "object":
            argv = (UNKNOWN,)  # the arguments are a variable: a hole stands for them
        self.found.append(Dependency(kind, line(at), self.evaluator.value(program), argv or (), _in_try(at),
                                     exec_path=text(unwrap(program)) == "process.execPath"))

    def _inside_path_builder(self, call: Node) -> bool:
        """`path.join(path.join(__dirname, 'a'), 'b')`: only the outer path is a file."""
        outer = call.parent
        outer_call = outer.parent if outer is not None and outer.type == "arguments" else None
        if outer_call is None or outer_call.type not in ("call_expression", "new_expression"):
            return False
        function = outer_call.child_by_field_name("function") or outer_call.child_by_field_name("constructor")
        return function is not None and (bool(self.bindings.callee(function) & _PATH_BUILDERS)
                                         or text(function) == "URL")


def _is_eval_require(callee: Node) -> bool:
    """`eval('require')('x')`: a require hidden from bundlers."""
    return callee.type == "call_expression" and text(callee).replace('"', "'") == "eval('require')"


def _sets_true(obj: Node, key: str) -> bool:
    """Whether an object literal has `key: true` (or a shorthand `key`, assumed true)."""
    for child in obj.named_children:
        if child.type == "pair":
            name, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if name is not None and text(name).strip("'\"") == key and value is not None and text(value) != "false":
                return True
        elif child.type == "shorthand_property_identifier" and text(child) == key:
            return True
    return False


def _in_try(node: Node) -> bool:
    """Inside the block of a `try` of the same function: the code is ready for it to fail."""
    current = node
    while current.parent is not None and current.type not in _FUNCTION_BOUNDARIES:
        parent = current.parent
        if parent.type == "try_statement" and parent.child_by_field_name("body") == current:
            return True
        current = parent
    return False
