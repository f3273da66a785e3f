"""What one JavaScript module loads, reads and runs, found in its syntax tree.

Every code path counts, not the one a probe run takes: a `require` inside a function that runs
for one subcommand only is a dependency like a top-level `import`. Found:

- modules: `require('x')` (also through `createRequire` and `eval('require')`), `require.resolve`,
  `import`/`export ... from`, `import('x')`, `import.meta.resolve`;
- programs: `child_process` spawn/exec/execFile/fork (and `cross-spawn`, `execa`) with their
  argument lists, `new Worker(...)`;
- files: paths given to `fs` functions, and any path built from where the module is
  (`path.join(__dirname, 'views')`, `__dirname + '/x'`, `new URL('./x', import.meta.url)`): data
  files, templates, static directories, workers;
- Express's folders, named relative to the working directory as often as not: what
  `express.static(dir)` / `serveStatic(dir)` serve and `res.sendFile(f, {root})` sends from, and
  for `app.set('view engine', name)` the engine Express requires by that name and the views
  folder (`app.set('views', dir)`, by default `views`) it renders from.

The places are found from the words that make them (tokens.py), not by visiting every node.
Specifiers and paths are evaluated as far as the code allows (see evaluate.py); what remains
unknown is kept as holes for the tracer to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from tree_sitter import Node

from slimmer.trace.node.bindings import Bindings, Member, collect_bindings, is_call_of, unwrap
from slimmer.trace.node.evaluate import UNKNOWN, Evaluator, StaticString
from slimmer.trace.node.parse import line, parse, text
from slimmer.trace.node.tokens import TokenIndex


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
_SERVERS_OF_FILES = frozenset({("express", "static"), ("serve-static", None)})
_FUNCTION_BOUNDARIES = frozenset({"function_declaration", "function_expression", "arrow_function",
                                  "method_definition", "generator_function_declaration", "generator_function",
                                  "class_body", "program"})


# Functions whose calls the analysis looks at, by module: a module can only use them if it names the module.
_CALLED = {
    "child_process": frozenset(m for (module, m) in _SPAWNERS if module == "child_process" and m),
    "cross-spawn": frozenset({"spawn", "sync"}), "execa": frozenset({"execa", "execaSync", "sync"}),
    "fs": _FS_READERS, "path": frozenset({"join", "resolve"}), "worker_threads": frozenset({"Worker"}),
    "express": frozenset({"static"}), "serve-static": frozenset(),
}
_MODULE_NAMES = re.compile(
    rb"""['"`](?:node:)?(child_process|cross-spawn|execa|fs|path|worker_threads|express|serve-static)(?:/[a-z]+)?['"`]""")
_DEFAULT_VIEWS = "views"  # Express's default views folder, in the working directory
# A module without any of these words loads nothing and names no file: it is not parsed.
_ANY_DEPENDENCY = re.compile(rb"require|import|export|__dirname|__filename")
_ANCHORS = ("__dirname", "__filename")
_META_ANCHORS = frozenset({"url", "dirname", "filename"})  # import.meta.X


def extract(source: bytes, path: str, cwd: str) -> list[Dependency]:
    """The dependencies of the module at `path` (its real path), run from the directory `cwd`."""
    if not _ANY_DEPENDENCY.search(source):
        return []
    index = TokenIndex(source, parse(source).root_node)
    bindings = collect_bindings(index)
    called = {word for module in {m.decode() for m in _MODULE_NAMES.findall(source)} for word in _CALLED[module]}
    return _Extractor(index, bindings, Evaluator(path, bindings, cwd)).run(called)


class _Extractor:
    def __init__(self, index: TokenIndex, bindings: Bindings, evaluator: Evaluator) -> None:
        self.index = index
        self.bindings = bindings
        self.evaluator = evaluator
        self.found: list[Dependency] = []
        self._seen: set[tuple[int, DependencyKind]] = set()  # (start byte, kind): each call counted once

    def run(self, called: set[str]) -> list[Dependency]:
        """`called`: the function names of the followed modules this module names."""
        index = self.index
        for keyword in index.nodes("import"):
            self._import_keyword(keyword)
        for keyword in index.nodes("export"):
            statement = keyword.parent
            source = statement.child_by_field_name("source") if statement is not None else None
            if statement is not None and statement.type == "export_statement" and source is not None:
                self._add(DependencyKind.IMPORT, source, source)
        for name in sorted(self.bindings.require_names):
            for node in index.nodes(name):
                self._require(node)
        for fragment in index.nodes("require", strings=True):
            self._eval_require(fragment)
        for word in _ANCHORS:
            for node in index.nodes(word):
                if node.type == "identifier":
                    self._anchor(node)
        for word in sorted(called - {"Worker"} | self.bindings.followed_names()):
            for node in index.nodes(word):
                self._call_site(node)
        for fragment in index.nodes("view engine", strings=True) + index.nodes("views", strings=True):
            self._app_setting(fragment)
        for node in index.nodes("sendFile"):
            self._send_file(node)
        workers = {n for n, ms in self.bindings.modules.items() if ("worker_threads", "Worker") in ms}
        for word in sorted(workers | (called & {"Worker"})):
            for node in index.nodes(word):
                self._worker(node)
        self.found.sort(key=lambda d: (d.line, d.kind is DependencyKind.FILE))  # a load says more than a path
        return self.found

    def _add(self, kind: DependencyKind, at: Node, value_node: Node | None) -> None:
        key = (at.start_byte, kind)
        if key in self._seen:
            return
        self._seen.add(key)
        values = self.evaluator.values(value_node) if value_node is not None else [UNKNOWN]
        optional = _in_try(at)
        self.found.extend(Dependency(kind, line(at), value, optional=optional) for value in values)

    def _import_keyword(self, keyword: Node) -> None:
        """`import x from 'm'`, `import('m')`, `import.meta.resolve('m')`, `import.meta.url`."""
        parent = keyword.parent
        if parent is None:
            return
        if parent.type == "import_statement":
            source = parent.child_by_field_name("source")
            if source is not None:
                self._add(DependencyKind.IMPORT, source, source)
        elif keyword.type == "import" and parent.type == "call_expression":
            args = _arguments(parent)
            self._add(DependencyKind.DYNAMIC_IMPORT, keyword, args[0] if args else None)
        elif parent.type == "meta_property" and parent.parent is not None and parent.parent.type == "member_expression":
            member = parent.parent
            prop = member.child_by_field_name("property")
            name = text(prop) if prop is not None else ""
            call = is_call_of(member)
            if name == "resolve" and call is not None:
                args = _arguments(call)
                self._add(DependencyKind.IMPORT_RESOLVE, member, args[0] if args else None)
            elif name in _META_ANCHORS:
                self._anchor(member)

    def _require(self, node: Node) -> None:
        call = is_call_of(node)
        if call is not None:
            args = _arguments(call)
            self._add(DependencyKind.REQUIRE, node, args[0] if args else None)
            return
        parent = node.parent
        if parent is not None and parent.type == "member_expression" and parent.child_by_field_name("object") == node:
            prop = parent.child_by_field_name("property")
            call = is_call_of(parent)
            if prop is not None and text(prop) == "resolve" and call is not None:
                args = _arguments(call)
                self._add(DependencyKind.REQUIRE_RESOLVE, parent, args[0] if args else None)

    def _eval_require(self, fragment: Node) -> None:
        """`eval('require')('x')`: a require hidden from bundlers."""
        string = fragment.parent
        arguments = string.parent if string is not None else None
        inner = arguments.parent if arguments is not None else None
        if inner is None or inner.type != "call_expression" or text(inner).replace('"', "'") != "eval('require')":
            return
        outer = is_call_of(inner)
        if outer is not None:
            args = _arguments(outer)
            self._add(DependencyKind.REQUIRE, inner, args[0] if args else None)

    def _anchor(self, node: Node) -> None:
        """A path built from where the module is (`__dirname + '/x'`, `path.join(__dirname, 'x')`,
        `new URL('./x', import.meta.url)`): the whole expression names a file."""
        expression = self._outermost_path(node)
        if expression is not node:
            self._add(DependencyKind.FILE, expression, expression)

    def _outermost_path(self, node: Node) -> Node:
        current = node
        while current.parent is not None:
            parent = current.parent
            if parent.type in ("parenthesized_expression", "template_substitution") or \
                    (parent.type == "binary_expression" and _operator(parent) == "+"):
                current = parent if parent.type != "template_substitution" else parent.parent or parent
            elif parent.type == "arguments" and parent.parent is not None and self._builds_path(parent.parent):
                current = parent.parent
            else:
                break
        return current

    def _builds_path(self, call: Node) -> bool:
        """path.join/resolve, url.fileURLToPath, new URL(...): the result is a path made of the arguments."""
        if call.type == "new_expression":
            constructor = call.child_by_field_name("constructor")
            return constructor is not None and text(constructor) == "URL"
        function = call.child_by_field_name("function")
        return call.type == "call_expression" and function is not None and \
            bool(self.bindings.callee(function) & (_PATH_BUILDERS | {("url", "fileURLToPath")}))

    def _call_site(self, node: Node) -> None:
        """`spawn(...)`, `cp.spawn(...)`, `fs.readFileSync(...)`, `path.join(...)` and aliases."""
        callee = node
        parent = node.parent
        if parent is not None and parent.type == "member_expression":
            callee = parent  # `cp.spawn`: reached from `spawn` or from `cp`
        call = is_call_of(callee)
        if call is None:
            return
        args = _arguments(call)
        first = args[0] if args else None
        for member in self.bindings.callee(callee):
            if member in _SPAWNERS:
                self._spawn(_SPAWNERS[member], call, args)
            elif member[0] == "fs" and member[1] in _FS_READERS and first is not None:
                self._add(DependencyKind.FILE, call, first)
            elif member in _SERVERS_OF_FILES and first is not None:
                self._add(DependencyKind.FILE, call, first)
            elif member in _PATH_BUILDERS and self._outermost_path(call) is call:
                self._add(DependencyKind.FILE, call, call)

    def _app_setting(self, fragment: Node) -> None:
        """`app.set('view engine', 'ejs')`: Express requires the engine by that name, and renders
        from the views folder; `app.set('views', dir)` names that folder."""
        string = fragment.parent
        arguments = string.parent if string is not None else None
        call = arguments.parent if arguments is not None else None
        if call is None or call.type != "call_expression" or arguments is None:
            return
        function = call.child_by_field_name("function")
        prop = function.child_by_field_name("property") if function is not None else None
        args = _arguments(call)
        if prop is None or text(prop) != "set" or len(args) != 2 or args[0] != string:
            return
        if text(fragment) == "views":
            self._add(DependencyKind.FILE, call, args[1])
            return
        self._add(DependencyKind.REQUIRE, call, args[1])
        key = (string.start_byte, DependencyKind.FILE)
        if key not in self._seen:
            self._seen.add(key)
            self.found.append(Dependency(DependencyKind.FILE, line(call), StaticString.of(_DEFAULT_VIEWS),
                                         optional=True))

    def _send_file(self, node: Node) -> None:
        """`res.sendFile(name, {root: dir})`: files sent from `dir` by the names of requests."""
        parent = node.parent
        call = is_call_of(parent) if parent is not None and parent.type == "member_expression" else None
        args = _arguments(call) if call is not None else []
        if call is None or len(args) < 2 or args[1].type != "object":
            return
        for pair in args[1].named_children:
            key = pair.child_by_field_name("key") if pair.type == "pair" else None
            value = pair.child_by_field_name("value") if key is not None else None
            if key is not None and value is not None and text(key).strip("'\"") == "root":
                self._add(DependencyKind.FILE, pair, value)

    def _worker(self, node: Node) -> None:
        constructor = node
        parent = node.parent
        if parent is not None and parent.type == "member_expression" and parent.child_by_field_name("property") == node:
            constructor = parent
        new = constructor.parent
        if new is None or new.type != "new_expression" or new.child_by_field_name("constructor") != constructor:
            return
        if ("worker_threads", "Worker") in self.bindings.callee(constructor):
            args = _arguments(new)
            if args:
                self._add(DependencyKind.WORKER, constructor, args[0])

    def _spawn(self, kind: DependencyKind, call: Node, args: list[Node]) -> None:
        """The program and its argument list (`{shell: true}`: one command line for /bin/sh)."""
        if not args or (call.start_byte, kind) in self._seen:
            return
        self._seen.add((call.start_byte, kind))
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
            command_line = self.evaluator.value(program)
            for word in argv or ():
                command_line = command_line + StaticString.of(" ") + word
            self.found.append(Dependency(DependencyKind.SHELL, line(call), command_line, optional=_in_try(call)))
            return
        if argv is None and kind is not DependencyKind.SHELL and len(args) > 1 and args[1].type != "object":
            argv = (UNKNOWN,)  # the arguments are a variable: a hole stands for them
        self.found.append(Dependency(kind, line(call), self.evaluator.value(program), argv or (), _in_try(call),
                                     exec_path=text(unwrap(program)) == "process.execPath"))

def _arguments(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    return arguments.named_children if arguments is not None else []


def _operator(node: Node) -> str | None:
    operator = node.child_by_field_name("operator")
    return text(operator) if operator is not None else None


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
