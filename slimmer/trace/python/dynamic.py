"""Imports by names computed at run time: the policies that decide what they keep.

A module-level `__getattr__` (PEP 562) importing the submodule asked for: each submodule waits
until traced code names it. A name a function's callers give (`import_module(name)`, numpy's
`add_newdoc("numpy.core", ...)`): the modules its package names in quoted strings. Any other
computed name: a warning, and the whole package where it happens (or the subpackage the known
start of the name gives), unless --python-strict.
"""

from __future__ import annotations

import re

from slimmer.trace.closure import Need
from slimmer.trace.python import reasons
from slimmer.trace.python.environment import PythonEnv
from slimmer.trace.python.graph import ImportGraph, ModuleRef
from slimmer.trace.python.outside import DynamicImport
from slimmer.trace.python.source import ImportUse

# A quoted dotted name in a package's code: a module it may import by the name its callers give.
_QUOTED_NAME = re.compile(rb"""['"]([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)['"]""")
_QUOTED_WORD = re.compile(rb"""['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")
_QUOTED_ZONE = re.compile(rb"""['"]([A-Z][A-Za-z_+-]*(?:/[A-Za-z0-9_+-]+)+)['"]""")  # "Europe/Berlin"


class DynamicImports(ImportGraph):
    """The import graph with the policies for computed names."""

    def __init__(self, strict: bool) -> None:
        super().__init__(strict)
        self._whole: set[tuple[int, str]] = set()  # (env, package) kept whole
        self._attributes: dict[int, set[str]] = {}  # env -> dotted names traced code uses on modules
        self._on_attribute: dict[tuple[int, str], list[tuple[ModuleRef, ImportUse]]] = {}
        self._names_wanted: set[tuple[int, str]] = set()  # (env, package) importing names its callers give
        self._application_read: set[tuple[int, str]] = set()  # (env, path) whose strings were read for names

    def _asked_for(self, ref: ModuleRef, use: ImportUse) -> bool:
        """Whether traced code asks the module for what its `__getattr__` imports (`np.random`,
        `concurrent.futures.ThreadPoolExecutor`); if not yet, the import waits until some code
        does (PEP 562 lazy attributes)."""
        base = self._absolute(ref, use)
        if not base:
            return True
        module = ref.name
        triggers = {f"{module}.{name}" for name in use.names if name != "*"}
        triggers.add(f"{module}.{base.rsplit('.', 1)[-1]}")
        names = self._attributes.setdefault(id(ref.env), set())
        if any(t == n or n.startswith(t + ".") for t in triggers for n in names):
            return True
        for trigger in triggers:
            self._on_attribute.setdefault((id(ref.env), trigger), []).append((ref, use))
        return False

    def _referenced(self, env: PythonEnv, attributes: frozenset[str]) -> list[Need]:
        """Names code uses on imported modules; `__getattr__` imports waiting for one run now."""
        names = self._attributes.setdefault(id(env), set())
        fresh = attributes - names
        names |= fresh
        found: list[Need] = []
        for name in sorted(fresh):
            parts = name.split(".")
            for end in range(1, len(parts) + 1):
                for ref, use in self._on_attribute.pop((id(env), ".".join(parts[:end])), []):
                    stdlib = env.interpreter.in_stdlib(ref.path)
                    found += self._import_use(ref, use, ref.path, use.line, stdlib, False)
        return found

    def _attribute_modules(self, ref: ModuleRef) -> list[Need]:
        """`import_module("." + name, __name__)` in a package's `__getattr__` (PEP 562) loads the
        submodule code asks for: each submodule waits until traced code names it."""
        package = ref.name if ref.is_package else ref.name.rpartition(".")[0]
        spec = ref.env.finder.find(package) if package else None
        if spec is None or not spec.is_package:
            return []
        found: list[Need] = []
        for name in ref.env.finder.submodule_names(spec):
            use = ImportUse(package, 0, (name,), 0, True, True, False, True)
            if self._asked_for(ref, use):
                found += self._import_use(ref, use, ref.path, 0, False, False)
        return found

    def _dynamic(self, ref: ModuleRef, requester: str | None, line: int, dynamic: DynamicImport,
                 by_literals: bool) -> list[Need]:
        """An import by a computed name: warn, and keep the whole top-level package it happens in
        (or the subpackage the known start of the name gives, `f"pkg.sub.{x}"`), unless
        --python-strict. Not for the stdlib: its dynamic imports load what its caller names
        (import_module, pickle, resources), and the caller's literal names are traced there.
        A name a function's callers give, or a dynamic import inside a library function (a
        plug-in table such as gunicorn's worker classes): the modules the package names in
        quoted strings are imported instead of the whole package."""
        env = ref.env
        top = ref.name.split(".", 1)[0]
        if (dynamic.from_parameter or by_literals) and not self.strict and ref.name != "__main__":
            self._warn(requester, f"line {line}: {dynamic.what}: the modules named by quoted dotted names in "
                                  f"package {top} are kept")
            return self._named_in_package(env, top)
        within = env.finder.find(dynamic.within) if dynamic.within else None
        spec = within if within is not None and within.is_package else \
            env.finder.find(top) if ref.name != "__main__" else None
        keeps_whole = not self.strict and spec is not None and spec.is_package
        tail = f"; package {spec.name} is kept whole" if keeps_whole and spec is not None else ""
        self._warn(requester, f"line {line}: {dynamic.what}: its module cannot be known statically{tail}")
        if not keeps_whole or spec is None or (id(env), spec.name) in self._whole:
            return []
        self._whole.add((id(env), spec.name))
        reason = reasons.kept_whole(spec.name, reasons.at(requester, line), dynamic.what)
        found: list[Need] = []
        for module in self._modules_under(env, spec):
            found += self._import(env, module, reason, requester, True)
        return found

    def _named_in_package(self, env: PythonEnv, top: str) -> list[Need]:
        """A package whose function imports the name its caller passes (`add_newdoc("pkg.mod",
        ...)`): its callers write the names as literals, so every quoted dotted name in the
        package's traced files that is one of its modules is imported, now and in files read later."""
        key = (id(env), top)
        if key in self._names_wanted:
            return []
        self._names_wanted.add(key)
        found: list[Need] = []
        for path in self._analysed_files.get(key, []):
            found += self._quoted_modules(env, path, top)
        return found

    def _quoted_modules(self, env: PythonEnv, path: str, top: str) -> list[Need]:
        """Modules of package `top` that `path` names in quoted strings (like the whole-package
        default, this stays inside the package where the dynamic import happens)."""
        entry = env.fs.lookup(path)
        if entry is None or not path.endswith(".py"):
            return []
        found: list[Need] = []
        for raw in dict.fromkeys(_QUOTED_NAME.findall(env.fs.read(entry))):
            name = raw.decode("ascii")
            while name and env.finder.find(name) is None:  # "pkg.mod.Class": the module is pkg.mod
                name = name.rpartition(".")[0]
            if "." in name and name.split(".", 1)[0] == top:
                found += self._import(env, name, f"named at {path} (a module its package imports by name)", path,
                                      True)
        return found

    def _named_in_application(self, ref: ModuleRef) -> list[Need]:
        """The application configures frameworks by names in strings (Django's INSTALLED_APPS,
        MIDDLEWARE, ROOT_URLCONF and TIME_ZONE, `os.environ.setdefault("DJANGO_SETTINGS_MODULE",
        "site.settings")`, Celery's `include`): a quoted dotted name of a module outside the stdlib
        ("pkg.mod.Class": the module pkg.mod), or a quoted word that is one of the application's
        own top-level modules ('shop'), is imported; a quoted "Area/City" that is a zone of the
        image's time zone database is kept. Library code is left to the rules above; nothing
        of this with --python-strict."""
        env = ref.env
        key = (id(env), ref.path)
        if self.strict or key in self._application_read or not ref.path.endswith(".py") or \
                env.interpreter.in_stdlib(ref.path) or env.distributions.owner(ref.path) is not None:
            return []
        self._application_read.add(key)  # once: a module read again in a wider mode names the same
        entry = env.fs.lookup(ref.path)
        if entry is None or not entry.is_file:
            return []
        source = env.fs.read(entry)
        why = f"named by a string in {ref.path} (application code names modules for a framework to import)"
        found: list[Need] = []
        for raw in dict.fromkeys(_QUOTED_NAME.findall(source)):
            name = raw.decode("ascii")
            while name and env.finder.find(name) is None:
                name = name.rpartition(".")[0]
            spec = env.finder.find(name) if name else None
            if spec is not None and spec.origin is not None and not env.interpreter.in_stdlib(spec.origin):
                found += self._import(env, name, why, ref.path, True,
                                      full=env.distributions.owner(spec.origin) is None)
        for raw in dict.fromkeys(_QUOTED_WORD.findall(source)):
            spec = env.finder.find(raw.decode("ascii"))
            if spec is not None and spec.origin is not None and not env.interpreter.in_stdlib(spec.origin) \
                    and env.distributions.owner(spec.origin) is None:
                found += self._import(env, spec.name, why, ref.path, True, full=True)
        for raw in dict.fromkeys(_QUOTED_ZONE.findall(source)):
            zone = raw.decode("ascii")
            for folder in env.tzpath:
                entry = env.fs.lookup(f"{folder}/{zone}")
                if entry is not None and entry.is_file:
                    found.append(Need(f"{folder}/{zone}", f"time zone {zone} named by a string in {ref.path}",
                                      optional=True, data=True))
                    break
        return found

    def _wanted_names(self, ref: ModuleRef) -> list[Need]:
        if (id(ref.env), ref.top) not in self._names_wanted:
            return []
        return self._quoted_modules(ref.env, ref.path, ref.top)
