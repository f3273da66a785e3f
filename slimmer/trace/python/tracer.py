"""The `python` program handler: a command line (from ENTRYPOINT/CMD, a `#!` line, a wrapper, a
shell script or another Python program) to its interpreter, sys.path and start-up modules, with
the script handed on as a Need with the "python" role; the modules it reaches are then read by
the import graph (graph.py, with the policies for computed names of dynamic.py).
"""

from __future__ import annotations

import posixpath
import re

from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import ArgvHandler, CommandResolver
from slimmer.trace.python import reasons
from slimmer.trace.python.dynamic import DynamicImports
from slimmer.trace.python.environment import PythonEnv
from slimmer.trace.python.finder import ModuleFinder
from slimmer.trace.python.graph import ROLE, ModuleRef
from slimmer.trace.python.interpreter import Interpreter, discover
from slimmer.trace.python.invocation import Invocation, parse_invocation
from slimmer.trace.python.served import served_directory
from slimmer.trace.python.source import parse_source
from slimmer.trace.python.startup import startup_modules
from slimmer.trace.python.syspath import SysPath, derive_sys_path

# A word naming a module to load, as servers and task queues take them: `pkg.mod:attr` or `pkg.mod`.
_MODULE_STRING = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_][\w.]*(\(.*\))?)?$")


class PythonTracer(DynamicImports):
    """Tracer plug-in for Python modules, and the handler of `python` command lines."""

    name = "python"

    def __init__(self, strict: bool = False) -> None:
        super().__init__(strict)
        self._envs: dict[tuple[str, tuple[str, ...], int], PythonEnv] = {}
        self._interpreters: dict[str, Interpreter | None] = {}

    @property
    def handlers(self) -> dict[str, ArgvHandler]:
        return {"python": self.run}

    def run(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        """`python [options] (SCRIPT | -m MODULE | -c CODE) [ARGS]` run from `cwd`."""
        self.resolver = resolver
        ctx = resolver.ctx
        program = resolver.find(argv[0], cwd)
        invocation = parse_invocation(argv[1:])
        if program is None or invocation is None:
            return []
        interpreter = self._interpreter(program, ctx)
        if interpreter is None:
            self._warn(None, f"{program} looks like Python but its library was not found in the image ({reason})")
            return []
        script = self._script_path(invocation, cwd, ctx)
        env = self._environment(interpreter, invocation, ctx, cwd, posixpath.dirname(script) if script else None)
        found = self._startup(env, invocation, program)
        if script is not None:
            found.append(Need(script, f"script run by {posixpath.basename(argv[0])} ({reason})", role=ROLE))
            found += self._register(ModuleRef(env, "__main__", script, False, True), ctx)
        elif invocation.module is not None:
            module = invocation.module
            self._run_as_main |= {(id(env), module), (id(env), f"{module}.__main__")}
            served = served_directory(module, invocation.args, cwd)
            if served == "/":
                self._warn(None, f"{module} serves the whole root directory ({reason}): not kept whole")
            elif served is not None:
                found.append(Need(served, f"files {module} serves by the paths of requests ({reason})",
                                  recursive=True, optional=True, data=True))
            found += self._import(env, module, f"module run with -m ({reason})", None, True, full=True)
            spec = env.finder.find(module)
            if spec is not None and spec.is_package:
                found += self._import(env, f"{module}.__main__", f"run as -m {module} ({reason})", None, True,
                                      full=True)
        elif invocation.code is not None:
            facts = parse_source(invocation.code.encode("utf-8", "surrogateescape"))
            found += self._facts_needs(ModuleRef(env, "__main__", "", False, True), facts, None, cwd)
        found += self._named_modules(env, invocation.args, reason, cwd)
        return found

    def _interpreter(self, program: str, ctx: TraceContext) -> Interpreter | None:
        if program not in self._interpreters:
            self._interpreters[program] = discover(ctx.fs, program, dict(ctx.env))
        return self._interpreters[program]

    def _script_path(self, invocation: Invocation, cwd: str, ctx: TraceContext) -> str | None:
        if invocation.script is None or invocation.script == "-":
            return None
        path = posixpath.normpath(posixpath.join(cwd, invocation.script))
        try:
            return ctx.fs.resolve(path).path
        except SymlinkLoopError:
            return path

    def _environment(self, interpreter: Interpreter, invocation: Invocation, ctx: TraceContext, cwd: str,
                     main_dir: str | None) -> PythonEnv:
        env = dict(ctx.env)
        sys_path = derive_sys_path(ctx.fs, interpreter, invocation, env, main_dir, cwd, env.get("HOME"))
        key = (interpreter.executable, tuple(sys_path.entries), invocation.optimize)
        found = self._envs.get(key)
        if found is None:
            found = self._envs[key] = PythonEnv(ctx.fs, interpreter, sys_path, invocation.optimize, env)
        return found

    def _startup(self, env: PythonEnv, invocation: Invocation, program: str) -> list[Need]:
        interpreter = env.interpreter
        found = [Need(interpreter.dynload, f"lib-dynload of {program}", optional=True)]
        if interpreter.venv is not None:
            found.append(Need(interpreter.venv.config, f"virtual environment of {program} (read at start-up)"))
        for module, why in startup_modules(env.finder, invocation, env.env):
            found += self._import(env, module, reasons.startup(why, program), None, True)
        # The codec registry imports `encodings.NAME` for whatever name a program asks a codec
        # by (bytes.decode(charset) with a charset from the data): every codec is kept.
        encodings = env.finder.find("encodings")
        if encodings is not None and encodings.is_package:
            why = reasons.startup("codecs looked up by name at run time", program)
            for module in self._modules_under(env, encodings):
                found += self._import(env, module, why, None, True)
        # site puts a directory on sys.path only when it exists: kept, even empty, the path stays the same
        found += [Need(entry, f"on sys.path of {program}", optional=True, data=True) for entry in env.sys_path.entries
                  if not entry.endswith(".zip")]
        for pth in env.sys_path.pth_files:
            found.append(Need(pth, f"read at start-up by site ({program})"))
        for line in env.sys_path.pth_imports:
            facts = parse_source(line.code.encode("utf-8", "surrogateescape"))
            found += self._facts_needs(ModuleRef(env, "site", line.pth, False, False), facts, line.pth, "/",
                                       line.line)
        return found

    def _named_modules(self, env: PythonEnv, args: list[str], reason: str, cwd: str) -> list[Need]:
        """Modules named by the program's arguments or the image's Env (`app.wsgi:app`,
        `DJANGO_SETTINGS_MODULE=site.settings`): servers, task queues and frameworks import them by
        string, from sys.path or the working directory. Stdlib names are left out: there a word
        such as `json.dumps` is far more often data."""
        words = [(f"argument {n} of {reason}", word) for n, word in enumerate(args, 1)]
        words += [(f"{name} in the image's Env", value) for name, value in sorted(env.env.items()) if name != "PATH"]
        found: list[Need] = []
        beside = ModuleFinder(env.fs, [cwd], env.interpreter.extension_suffixes)
        for where, word in words:
            if not _MODULE_STRING.match(word) or ("." not in word and ":" not in word):
                continue
            module = word.split(":", 1)[0]
            spec = env.finder.find(module) or beside.find(module)
            if spec is None or (spec.origin and env.interpreter.in_stdlib(spec.origin)):
                continue
            # found in the working directory only: the server puts it first on sys.path (gunicorn's
            # --chdir, uvicorn's --app-dir, celery), so that the module's own imports find its neighbours
            importing = env if env.finder.find(module) is not None else self._working_directory_first(env, cwd)
            found += self._import(importing, module, reasons.named_by_string(where), None, True, full=True)
        return found

    def _working_directory_first(self, env: PythonEnv, cwd: str) -> PythonEnv:
        """`env` with the working directory in front of sys.path."""
        entries = [cwd, *(entry for entry in env.sys_path.entries if entry != cwd)]
        key = (env.interpreter.executable, tuple(entries), env.optimize)
        found = self._envs.get(key)
        if found is None:
            sys_path = SysPath(entries, env.sys_path.pth_files, env.sys_path.pth_imports)
            found = self._envs[key] = PythonEnv(env.fs, env.interpreter, sys_path, env.optimize, env.env)
        return found

