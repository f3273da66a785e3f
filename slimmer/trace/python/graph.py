"""The import graph: each module the closure keeps with the "python" role (the script the
handler of tracer.py hands on, then what it imports) is read in the environment that imported
it, and answered with the modules it imports (their packages, bytecode caches, package data and
distribution metadata), the extension modules (the ELF tracer takes them from there), the
programs it runs and the data it opens.

How far function bodies are followed (lazy imports, calls): the application's own code (the
script, and modules of neither the stdlib nor an installed distribution) is followed everywhere,
and so are the modules it imports (their functions are what it calls: a console script's
`main`); other library code is followed at module level and, inside functions, for imports within
its own top-level package and for imports by name (plug-ins), and a stdlib module's imports of
other stdlib modules (at their module level only: tarfile's gzip). A library's function-level use of
another package serves a feature the application may never use: following all of those keeps
most of the stdlib (`help()` alone reaches pydoc and email) and, through numpy's functions that
name its lazily loaded subpackages, all of numpy. Programs the stdlib runs (compilers for
ctypes.util, pagers for pydoc) are likewise not followed.
"""

from __future__ import annotations

import fnmatch
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.filekind import FileKind
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import CommandResolver
from slimmer.trace.python import reasons
from slimmer.trace.python.bytecode import bytecode_facts
from slimmer.trace.python.environment import PythonEnv
from slimmer.trace.python.extensions import extension_facts
from slimmer.trace.python.finder import ModuleFinder, ModuleKind, ModuleSpec
from slimmer.trace.python.outside import IMPORTING, OPENING, CallSite, DynamicImport, call_effects
from slimmer.trace.python.packagedata import SKIPPED_FOLDERS, package_data
from slimmer.trace.python.source import ImportUse, ModuleFacts, parse_source

# Calls followed inside a library's functions too: imports by name, and files opened by a literal
# path (pytz reads /usr/share/zoneinfo/tzdata.zi in a function it calls at import); a literal path
# names one file, where following every lazy import of a library would keep most of its features.
FOLLOWED_IN_LIBRARY_FUNCTIONS = IMPORTING | OPENING

ROLE = "python"
# Stdlib modules that import by a name computed from the build: the modules that name can be.
STDLIB_COMPUTED_IMPORTS = {"sysconfig": "_sysconfigdata_*"}
# Stdlib modules that read system files from a list of their own, through a loop no call shows:
# the files that exist are read (mimetypes.knownfiles, CPython 3.8 to 3.13).
STDLIB_SYSTEM_FILES = {
    "mimetypes": ("/etc/mime.types", "/etc/httpd/mime.types", "/etc/httpd/conf/mime.types", "/etc/apache/mime.types",
                  "/etc/apache2/mime.types", "/usr/local/etc/httpd/conf/mime.types",
                  "/usr/local/lib/netscape/mime.types", "/usr/local/etc/mime.types"),
}
# Functions of stdlib modules that serve the module's own command line (`python -m random`),
# called from its `__main__` block, or the stdlib's tests (`test.support`), not programs.
COMMAND_LINE_FUNCTIONS = frozenset({"main", "_main", "_demo", "_script"})
# Stdlib modules the stdlib imports in functions only for its own tests (test.support) or for
# line editing at an interactive prompt (code.interact, pdb, cmd.Cmd.cmdloop): not followed lazily.
NOT_FOLLOWED_LAZILY = frozenset({"test", "readline", "rlcompleter"})
STARTUP_ONLY = frozenset({"site", "_sitebuiltins"})  # their function-level imports serve the interactive prompt
# A name among the strings of the interpreter's binaries (its table of built-in modules).
_C_IDENTIFIER = re.compile(rb"([A-Za-z_][A-Za-z0-9_.]*)\x00")


@dataclass(frozen=True)
class ModuleRef:
    """A module file to read, in the environment that imports it."""

    env: PythonEnv
    name: str  # "__main__" for the script
    path: str  # its real path
    is_package: bool
    full: bool  # function bodies followed everywhere (see the module docstring)
    shallow: bool = False  # reached by a library's lazy import of another package: module level only

    @property
    def top(self) -> str:
        return self.name.split(".", 1)[0]


class ImportGraph(ABC):
    """The walk over modules: which to read, in which mode (full, deep, shallow), and what each
    one's facts need. What a computed name imports is the policy of the subclass (dynamic.py)."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict  # --python-strict: no package data, no whole packages for dynamic imports
        self.resolver: CommandResolver | None = None
        self._pending: dict[str, list[ModuleRef]] = {}
        self._visited: set[str] = set()  # real paths the closure has handed to `needs`
        self._analysed: set[tuple[int, str, bool, bool]] = set()
        self._emitted: set[tuple[int, str]] = set()  # (env, module name) whose files were emitted
        self._run_as_main: set[tuple[int, str]] = set()  # (env, module) run with -m: its __name__ is "__main__"
        self._full: set[tuple[int, str]] = set()  # (env, module) whose function bodies are followed everywhere
        self._deep: set[tuple[int, str]] = set()  # (env, module) read beyond module level (not shallow)
        self._shallow_refs: dict[tuple[int, str], list[ModuleRef]] = {}  # read at module level only
        self._library_refs: dict[tuple[int, str], list[ModuleRef]] = {}  # read at module level only, by package
        self._facts: dict[tuple[int, int], ModuleFacts] = {}
        self._builtins: dict[str, set[str]] = {}  # interpreter -> strings of its binaries
        self._analysed_files: dict[tuple[int, str], list[str]] = {}  # (env, package) -> files read
        self._warned: set[tuple[str | None, str]] = set()

    # -- the policies for imports by computed names (dynamic.py) --

    @abstractmethod
    def _referenced(self, env: PythonEnv, attributes: frozenset[str]) -> list[Need]:
        """Names code uses on imported modules: the `__getattr__` imports waiting for them."""

    @abstractmethod
    def _asked_for(self, ref: ModuleRef, use: ImportUse) -> bool:
        """Whether traced code asks for what a `__getattr__` import loads (else it waits)."""

    @abstractmethod
    def _attribute_modules(self, ref: ModuleRef) -> list[Need]:
        """A `__getattr__` importing a name computed from the attribute asked for."""

    @abstractmethod
    def _dynamic(self, ref: ModuleRef, requester: str | None, line: int, dynamic: DynamicImport,
                 by_literals: bool) -> list[Need]:
        """An import by a name computed at run time."""

    @abstractmethod
    def _wanted_names(self, ref: ModuleRef) -> list[Need]:
        """Modules a file names in strings, for a package that imports names its callers give."""

    @abstractmethod
    def _named_in_application(self, ref: ModuleRef) -> list[Need]:
        """Modules and time zones the application's own code names in strings, for a framework
        to load."""

    # -- the tracer --

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        if ctx.roles.get(path) != ROLE:
            return []
        self._visited.add(path)
        found: list[Need] = []
        for ref in self._pending.pop(path, []):
            found += self._analyse(self._current(ref), entry, ctx)
        return found

    def _current(self, ref: ModuleRef) -> ModuleRef:
        """A queued module in the mode its module has now: `_make_full` and `_make_deep` may have
        widened it since it was queued."""
        key = (id(ref.env), ref.name)
        if key in self._full and not (ref.full and not ref.shallow):
            return ModuleRef(ref.env, ref.name, ref.path, ref.is_package, True)
        if key in self._deep and ref.shallow:
            return ModuleRef(ref.env, ref.name, ref.path, ref.is_package, ref.full)
        return ref

    def _register(self, ref: ModuleRef, ctx: TraceContext) -> list[Need]:
        """Queue a module for reading when the closure reaches it; a file the closure already
        read in another environment (or mode) is read again at once, in this one."""
        if (id(ref.env), ref.path, ref.full, ref.shallow) in self._analysed:
            return []
        if ref.path in self._visited:
            entry = ctx.fs.lookup(ref.path)
            return self._analyse(ref, entry, ctx) if entry is not None else []
        self._pending.setdefault(ref.path, []).append(ref)
        return []

    def _analyse(self, ref: ModuleRef, entry: Entry, ctx: TraceContext) -> list[Need]:
        key = (id(ref.env), ref.path, ref.full, ref.shallow)
        if key in self._analysed or self.resolver is None:
            return []
        self._analysed.add(key)
        if ref.shallow:
            self._shallow_refs.setdefault((id(ref.env), ref.name), []).append(ref)
        elif not ref.full:
            self._library_refs.setdefault((id(ref.env), ref.name), []).append(ref)
        self._analysed_files.setdefault((id(ref.env), ref.top), []).append(ref.path)
        facts = self._facts.get(entry.content_key)
        if facts is None:
            data = ctx.fs.read(entry)
            kind = ctx.kind(entry)
            try:
                facts = bytecode_facts(data) if kind is FileKind.PYTHON_BYTECODE else \
                    extension_facts(data) if kind is FileKind.ELF else parse_source(data)
            except RecursionError:  # expressions nested deeper than Python's stack: read nothing
                self._warn(ref.path, "nested too deeply to analyse; its imports are not traced")
                facts = ModuleFacts((), (), None, 0)
            self._facts[entry.content_key] = facts
            if facts.syntax_errors:
                self._warn(ref.path, f"{facts.syntax_errors} line(s) Python could not be parsed; imports there "
                                     "may be missed")
        found = self._facts_needs(ref, facts, ref.path, ctx.cwd)
        found += self._wanted_names(ref)
        found += self._named_in_application(ref)
        return found

    def _facts_needs(self, ref: ModuleRef, facts: ModuleFacts, requester: str | None, cwd: str,
                     line: int = 0) -> list[Need]:
        env = ref.env
        found: list[Need] = []
        stdlib = bool(ref.path) and env.interpreter.in_stdlib(ref.path)
        application = ref.name == "__main__" or (not stdlib and not ref.path.endswith(".pth")
                                                  and env.distributions.owner(ref.path) is None)
        # Names used on modules wake `__getattr__` imports (PEP 562). From library code only names
        # on other packages count: a package's own functions naming its lazy subpackages serve
        # features the application may not use (numpy's would load all of numpy).
        attributes = facts.attributes if ref.full else \
            frozenset(a for a in facts.attributes if a.split(".", 1)[0] != ref.top)
        found += self._referenced(env, attributes)
        is_main = ref.name == "__main__" or (id(env), ref.name) in self._run_as_main
        for use in facts.imports:
            if use.main_only and not is_main:
                continue
            if use.on_attribute and not self._asked_for(ref, use):
                continue
            found += self._import_use(ref, use, requester, line or use.line, stdlib, application)
        assert self.resolver is not None
        site = CallSite(env, self.resolver, requester, ref.name, cwd, self._warn, self.strict)
        for call in facts.calls:
            if (call.lazy and not ref.full
                    and (ref.shallow or call.call.func not in FOLLOWED_IN_LIBRARY_FUNCTIONS)) or \
                    (call.main_only and not is_main):
                continue
            if stdlib and call.call.func not in IMPORTING:
                continue  # see the module docstring: the stdlib's helper programs
            effects = call_effects(call, site)
            found += effects.needs
            for module in effects.imports:
                # a lazy import by a literal name is taken as a lazy import statement
                cross = call.lazy and not ref.full and module.split(".", 1)[0] != ref.top
                if cross and not self._stdlib_lazy(ref, module, stdlib):
                    continue
                shallow = ref.shallow or cross
                found += self._import(env, module, reasons.imported(requester, call.line), requester, True,
                                      full=application, shallow=shallow)
            for dynamic in effects.dynamic:
                if call.on_attribute:
                    found += self._attribute_modules(ref)
                elif not stdlib:
                    found += self._dynamic(ref, requester, call.line, dynamic, by_literals=call.lazy and not ref.full)
        return found

    def _stdlib_lazy(self, ref: ModuleRef, module: str, stdlib: bool) -> bool:
        """A stdlib module's function-level import of another stdlib module (tarfile's gzip, bz2,
        lzma) is followed, at module level only; not those of the start-up modules, which serve
        the interactive prompt (`help()` and pydoc, readline)."""
        if not stdlib or ref.name in STARTUP_ONLY or module.split(".", 1)[0] in NOT_FOLLOWED_LAZILY:
            return False
        spec = ref.env.finder.find(module)
        return spec is not None and spec.origin is not None and ref.env.interpreter.in_stdlib(spec.origin)

    def _import_use(self, ref: ModuleRef, use: ImportUse, requester: str | None, line: int,
                    stdlib: bool, application: bool) -> list[Need]:
        env = ref.env
        base = self._absolute(ref, use)
        if base is None:
            return []
        if use.instead_of and all(env.finder.find(module) is not None for module in use.instead_of):
            return []  # the fallback of `try: import x / except ImportError`: x exists
        cross = use.lazy and not ref.full and use.level == 0 and base.split(".", 1)[0] != ref.top
        if (use.lazy and ref.shallow) or (cross and (_serves_tests_or_command_line(use.function)
                                                     or not self._stdlib_lazy(ref, base, stdlib))):
            return []
        shallow = ref.shallow or cross
        why = reasons.imported(requester, line)
        guarded = use.guarded or stdlib
        found = self._import(env, base, why, requester, guarded, full=application, shallow=shallow) if base else []
        spec = env.finder.find(base) if base else None
        if not use.names or spec is None or not spec.is_package:
            return found
        names = use.names
        if names == ("*",):
            names = self._star_names(env, spec)
        for name in names:
            if name != "*" and env.finder.find(f"{base}.{name}") is not None:
                found += self._import(env, f"{base}.{name}", why, requester, True, full=application, shallow=shallow)
        return found

    def _absolute(self, ref: ModuleRef, use: ImportUse) -> str | None:
        if not use.level:
            return use.module
        package = ref.name if ref.is_package else ref.name.rpartition(".")[0]
        parts = package.split(".") if package else []
        if use.level - 1 > len(parts) or not parts:
            return None
        base = ".".join(parts[: len(parts) - (use.level - 1)])
        return f"{base}.{use.module}" if use.module else base

    def _star_names(self, env: PythonEnv, spec: ModuleSpec) -> tuple[str, ...]:
        """`from pkg import *` imports the submodules `__all__` names (nothing else is imported)."""
        if spec.origin is None or spec.kind is not ModuleKind.SOURCE:
            return ()
        entry = env.fs.lookup(spec.origin)
        if entry is None:
            return ()
        facts = self._facts.get(entry.content_key)
        if facts is None:
            facts = self._facts[entry.content_key] = parse_source(env.fs.read(entry))
        return facts.all_names or ()

    def _import(self, env: PythonEnv, module: str, why: str, requester: str | None, guarded: bool,
                full: bool = False, shallow: bool = False) -> list[Need]:
        """`import module`: each package on the way, then the module. `full`: imported by the
        application, so the package's function bodies are followed too."""
        chain = env.finder.chain(module)
        if len(chain) < module.count(".") + 1 and not guarded and requester is not None \
                and not env.interpreter.in_stdlib(requester) and not self._builtin(env, module):
            self._warn(requester, f"{why}: module {module} not found on sys.path")
        found: list[Need] = [need for spec in chain for need in self._make_full(env, spec.name)] if full else []
        if not shallow:
            found += [need for spec in chain for need in self._make_deep(env, spec.name)]
        for spec in chain:
            reason = why if spec.name == module else reasons.package_of(module, why)
            found += self._module_files(env, env.finder, spec, reason)
        return found

    def _module_files(self, env: PythonEnv, finder: ModuleFinder, spec: ModuleSpec, reason: str) -> list[Need]:
        """The files one module is made of, once per environment."""
        key = (id(env), spec.name)
        if key in self._emitted:
            return []
        self._emitted.add(key)
        assert self.resolver is not None
        ctx = self.resolver.ctx
        # (with the role: a file the import system only looks at is not run, whatever its `#!`)
        found: list[Need] = [Need(path, f"looked at by the import system finding {spec.name}", optional=True,
                                  role=ROLE) for path in finder.probed.get(spec.name, [])]
        if spec.origin is None:
            return found + [Need(location, reason, optional=True) for location in spec.locations]
        found.append(Need(spec.origin, reason, role=ROLE))
        try:
            real = ctx.fs.resolve(spec.origin).path
        except SymlinkLoopError:
            real = spec.origin
        full = (id(env), spec.name) in self._full
        shallow = not full and (id(env), spec.name) not in self._deep
        found += self._register(ModuleRef(env, spec.name, real, spec.is_package, full, shallow), ctx)
        if spec.kind is ModuleKind.SOURCE:
            found.append(Need(env.cache_file(spec.origin), reasons.bytecode_cache(spec.origin), optional=True))
        if spec.is_package and not self.strict:
            found += [Need(path, reasons.package_data(spec.locations[0])) for path in
                      package_data(finder, spec.locations[0])]
        pattern = STDLIB_COMPUTED_IMPORTS.get(spec.name)
        if pattern is not None and env.interpreter.in_stdlib(spec.origin):
            for name in sorted(fnmatch.filter(env.finder.listing(env.interpreter.stdlib), pattern + ".py")):
                found += self._import(env, name[:-3], f"imported by {spec.name} by a name the build sets", None, True)
        if spec.name in STDLIB_SYSTEM_FILES and env.interpreter.in_stdlib(spec.origin):
            found += [Need(path, f"system file read by {spec.name} (its list of known files)", optional=True,
                           data=True) for path in STDLIB_SYSTEM_FILES[spec.name]]
        dist = env.distributions.owner(spec.origin)
        if dist is not None:
            found.append(Need(dist.path, reasons.dist_info(dist.name, spec.origin), recursive=True))
        return found

    def _make_deep(self, env: PythonEnv, module: str) -> list[Need]:
        """Read a module beyond module level from now on (if it was read shallow already, again)."""
        key = (id(env), module)
        if key in self._deep:
            return []
        self._deep.add(key)
        return self._read_again(self._shallow_refs.pop(key, []), full=False)

    def _make_full(self, env: PythonEnv, module: str) -> list[Need]:
        """Follow a module's function bodies from now on (if it was read already, again)."""
        key = (id(env), module)
        if key in self._full:
            return []
        self._full.add(key)
        return self._read_again(self._library_refs.pop(key, []), full=True)

    def _read_again(self, refs: list[ModuleRef], full: bool) -> list[Need]:
        """Modules read before in a narrower mode, read again beyond module level (`full`: and
        with their function bodies followed)."""
        assert self.resolver is not None
        found: list[Need] = []
        for ref in refs:
            entry = self.resolver.ctx.fs.lookup(ref.path)
            if entry is not None:
                found += self._analyse(ModuleRef(ref.env, ref.name, ref.path, ref.is_package, ref.full or full), entry,
                                       self.resolver.ctx)
        return found

    def _builtin(self, env: PythonEnv, module: str) -> bool:
        """Compiled into the interpreter (`sys`, `itertools`): the table of built-in modules is in
        the strings of the executable or its libpython, read once per interpreter. Linkers merge
        string tails ("errno" may be the end of "Py_errno"), so every tail of a string counts."""
        real = env.interpreter.real
        names = self._builtins.get(real)
        if names is None:
            names = set()
            for path in env.interpreter.binaries(env.fs):
                entry = env.fs.lookup(path)
                if entry is not None and entry.is_file:
                    for found in _C_IDENTIFIER.findall(env.fs.read(entry)):
                        text = found.decode("ascii")
                        names.update(text[i:] for i in range(len(text)) if i == 0 or text[i - 1] in "_.")
            self._builtins[real] = names
        return module in names

    def _warn(self, path: str | None, message: str) -> None:
        if (path, message) not in self._warned and self.resolver is not None:
            self._warned.add((path, message))
            self.resolver.ctx.warn(path, message)

    def _modules_under(self, env: PythonEnv, package: ModuleSpec) -> list[str]:
        """Every module and subpackage of a package, test folders left out."""
        found: list[str] = []
        stack = [package]
        while stack:
            spec = stack.pop()
            for name in env.finder.submodule_names(spec):
                if name in SKIPPED_FOLDERS:
                    continue
                child = env.finder.find(f"{spec.name}.{name}")
                if child is None:
                    continue
                found.append(child.name)
                if child.is_package and child.kind is not ModuleKind.NAMESPACE:
                    stack.append(child)
        return sorted(found)


def _serves_tests_or_command_line(function: str) -> bool:
    name = function.lstrip("_")
    return function in COMMAND_LINE_FUNCTIONS or name.startswith("test") or name.endswith("_tests")
