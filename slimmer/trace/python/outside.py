"""What Python code reaches outside its own imports, from calls with arguments known statically:
modules imported by name, programs it runs (back through the command resolver, so shells,
wrappers and other interpreters apply), native libraries for ctypes, and data it opens (files,
time zones, resources of packages, distributions' metadata)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.closure import Need
from slimmer.trace.commands import CommandResolver
from slimmer.trace.python import reasons
from slimmer.trace.python.environment import PythonEnv
from slimmer.trace.python.expressions import Call, Ref, Value, evaluate, known_prefix
from slimmer.trace.python.source import CallUse

IMPORTING = frozenset({"__import__", "importlib.import_module", "importlib.__import__", "importlib.util.find_spec"})
RUN_ARGV = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
                      "subprocess.Popen"})
RUN_SHELL = frozenset({"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
                       "asyncio.create_subprocess_shell"})
EXEC_VECTOR = frozenset({"os.execv", "os.execve", "os.execvp", "os.execvpe", "os.posix_spawn", "os.posix_spawnp"})
EXEC_LIST = frozenset({"os.execl", "os.execle", "os.execlp", "os.execlpe", "asyncio.create_subprocess_exec"})
SPAWN_VECTOR = frozenset({"os.spawnv", "os.spawnve", "os.spawnvp", "os.spawnvpe"})
SPAWN_LIST = frozenset({"os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe"})
NATIVE = frozenset({"ctypes.CDLL", "ctypes.PyDLL", "ctypes.cdll.LoadLibrary", "ctypes.pydll.LoadLibrary",
                    "ctypes.util.find_library"})
# opening a file by its path: the built-in, and pathlib's methods on a path (`Path(__file__).parent / "x"`)
OPENING = frozenset({"open", "io.open", "builtins.open", "@open", "@read_text", "@read_bytes"})
RESOURCES = frozenset({"importlib.resources.files", "importlib.resources.read_text", "importlib.resources.read_binary",
                       "importlib.resources.open_text", "importlib.resources.open_binary", "importlib.resources.path",
                       "importlib_resources.files", "pkgutil.get_data"})
METADATA = frozenset({"importlib.metadata.version", "importlib.metadata.distribution", "importlib.metadata.metadata",
                      "importlib.metadata.files", "importlib.metadata.requires", "importlib_metadata.version"})
ENTRY_POINTS = frozenset({"importlib.metadata.entry_points", "importlib_metadata.entry_points"})


@dataclass(frozen=True)
class AppFolders:
    """An app object's folders it serves or renders from, beside the module its import name names."""

    import_name: int  # the position of the import name
    folders: dict[str, tuple[int, str | None]]  # keyword -> (its position, the framework's default folder)


_BLUEPRINT = AppFolders(1, {"static_folder": (2, None), "template_folder": (4, None)})
APP_FOLDERS: dict[str, AppFolders] = {
    "flask.Flask": AppFolders(0, {"static_folder": (2, "static"), "template_folder": (6, "templates")}),
    "flask.Blueprint": _BLUEPRINT, "flask.blueprints.Blueprint": _BLUEPRINT,
}
# folders of files named by requests or templates, relative to the working directory: keyword -> position
CWD_FOLDERS: dict[str, tuple[str, int]] = {
    "jinja2.FileSystemLoader": ("searchpath", 0), "jinja2.loaders.FileSystemLoader": ("searchpath", 0),
    "starlette.staticfiles.StaticFiles": ("directory", 0), "fastapi.staticfiles.StaticFiles": ("directory", 0),
    "starlette.templating.Jinja2Templates": ("directory", 0), "fastapi.templating.Jinja2Templates": ("directory", 0),
}
LIBRARY_FOLDERS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")  # glibc's default search folders


@dataclass(frozen=True)
class DynamicImport:
    what: str  # for the warning
    within: str  # the package the known start of the name ("pkg.sub." in f"pkg.sub.{x}") names, or ""
    from_parameter: bool = False  # the name is a parameter of the function: its callers give it


@dataclass
class CallEffects:
    needs: list[Need] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # absolute module names imported by the call
    dynamic: list[DynamicImport] = field(default_factory=list)  # imports whose module is not known


@dataclass
class CallSite:
    """Where a call is: its module in its environment, for evaluation and for reasons."""

    env: PythonEnv
    resolver: CommandResolver
    path: str | None
    module: str
    cwd: str
    warn: Callable[[str | None, str], None]  # each warning once
    strict: bool = False  # --python-strict: modules only, no folders of data


def call_effects(use: CallUse, site: CallSite) -> CallEffects:
    call = use.call
    names = site.env.names(site.path, site.module)
    effects = CallEffects()
    func = call.func
    if func in IMPORTING:
        _importing(call, names, effects, use.parameters)
    elif func in RUN_ARGV | RUN_SHELL | EXEC_VECTOR | EXEC_LIST | SPAWN_VECTOR | SPAWN_LIST or func == "shutil.which":
        _running(call, names, use.line, site, effects)
    elif func in NATIVE:
        _native(call, names, use.line, site, effects)
    elif func in OPENING:
        _opening(call, names, use.line, site, effects)
    elif func == "zoneinfo.ZoneInfo":
        _zone(call, names, use.line, site, effects)
    elif func in RESOURCES:
        package = evaluate(call.argument(0, "package") or call.argument(0, "anchor"), names)
        if isinstance(package, str) and package:
            effects.imports.append(package)
    elif func in METADATA:
        _distribution(call, names, use.line, site, effects)
    elif func in ENTRY_POINTS:
        _entry_points(call, names, use.line, site, effects)
    elif func in APP_FOLDERS or func in CWD_FOLDERS:
        _folders(call, names, use.line, site, effects)
    elif func.rpartition(".")[2] == "load_entry_point":
        _load_entry_point(call, names, use.line, site, effects)
    return effects


def _importing(call: Call, names: dict[str, str], effects: CallEffects, parameters: frozenset[str]) -> None:
    argument = call.argument(0, "name")
    name = evaluate(argument, names)
    if not isinstance(name, str) or not name.strip("."):
        prefix = known_prefix(argument, names)
        within = prefix.rpartition(".")[0] if not prefix.startswith(".") else ""
        from_parameter = isinstance(argument, Ref) and argument.name in parameters
        what = f"{call.func}() of a name " + ("its callers give" if from_parameter else "computed at run time")
        effects.dynamic.append(DynamicImport(what, within, from_parameter))
        return
    if name.startswith("."):
        package = evaluate(call.argument(1, "package"), names)
        if not isinstance(package, str):
            effects.dynamic.append(DynamicImport(f"{call.func}({name!r}) relative to a package computed at run time",
                                                 ""))
            return
        level = len(name) - len(name.lstrip("."))
        base = package.rsplit(".", level - 1)[0] if level > 1 else package
        name = f"{base}.{name.lstrip('.')}" if name.strip(".") else base
    effects.imports.append(name)


def _argv_of(call: Call, names: dict[str, str]) -> list[str] | None:
    """The argv a process call runs, cut at the first word not known statically."""
    func = call.func
    value: Value
    if func in RUN_SHELL:
        value = evaluate(call.argument(0, "cmd" if func != "os.system" else "command"), names)
        return ["/bin/sh", "-c", value] if isinstance(value, str) else None
    if func in RUN_ARGV:
        value = evaluate(call.argument(0, "args"), names)
        shell = call.argument(99, "shell")
        if isinstance(value, str):
            return ["/bin/sh", "-c", value] if shell == Ref("True") else [value]
        return _known_prefix(value)
    if func == "shutil.which":
        value = evaluate(call.argument(0, "cmd"), names)
        return [value] if isinstance(value, str) else None
    if func in EXEC_VECTOR or func in SPAWN_VECTOR:
        offset = 1 if func in SPAWN_VECTOR else 0
        program = evaluate(call.argument(offset, "path"), names)
        argv = _known_prefix(evaluate(call.argument(offset + 1, "args"), names)) or []
        return [program, *argv[1:]] if isinstance(program, str) else None
    offset = 1 if func in SPAWN_LIST else 0
    values = [evaluate(arg, names) for arg in call.args[offset:]]
    program = values[0] if values else None
    # os.execl(path, arg0, arg1...) repeats argv[0]; create_subprocess_exec(program, arg1...) does not.
    rest = _known_prefix(values[1:] if func == "asyncio.create_subprocess_exec" else values[2:]) or []
    return [program, *rest] if isinstance(program, str) else None


def _known_prefix(value: Value | list[Value]) -> list[str] | None:
    if not isinstance(value, list):
        return None
    known: list[str] = []
    for item in value:
        if not isinstance(item, str):
            break
        known.append(item)
    return known or None


def _running(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    argv = _argv_of(call, names)
    if argv and call.func == "shutil.which" and site.resolver.find(argv[0], site.cwd) is None:
        return  # which() answers None for a missing program: nothing to keep, nothing wrong
    if not argv:
        site.warn(site.path, f"line {line}: {call.func}() runs a program whose name is computed "
                                          "at run time")
        return
    effects.needs += site.resolver.needs(argv, reasons.run_by(call.func, site.path, line), site.cwd, site.path)


def _native(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    """ctypes.CDLL("libx.so.1") is a dlopen: a path is taken as it is, a name is found through
    LD_LIBRARY_PATH, /etc/ld.so.cache and the default folders; find_library("x") reads
    `ldconfig -p`, the same cache, for `libx.so*`. The ELF tracer takes the library from there."""
    argument = call.argument(0, "name")
    name = evaluate(argument, names)
    reason = f"loaded with {call.func} at {reasons.at(site.path, line)}"
    if isinstance(argument, Call) and argument.func == "ctypes.util.find_library":
        return  # CDLL(find_library("x")): the inner call is traced on its own
    if not isinstance(name, str):
        site.warn(site.path, f"line {line}: {call.func}() of a library named at run time")
        return
    if "/" in name:
        effects.needs.append(Need(name, reason, optional=True))
        return
    by_name = call.func == "ctypes.util.find_library"
    found = _in_cache(site.env, f"lib{name}.so" if by_name else name, prefix=by_name)
    if found is None and not by_name:
        folders = [*site.env.env.get("LD_LIBRARY_PATH", "").split(":"), *LIBRARY_FOLDERS]
        found = next((path for folder in folders if folder
                      and site.env.fs.lookup(path := posixpath.join(folder, name)) is not None), None)
    if found is None:
        site.warn(site.path, f"line {line}: {call.func}({name!r}): no such library in the image")
        return
    effects.needs.append(Need(found, reason))


def _in_cache(env: PythonEnv, name: str, prefix: bool) -> str | None:
    cache = env.ld_cache()
    if cache is None:
        return None
    for entry in cache.entries:
        if entry.key == name or (prefix and entry.key.startswith(name + ".")):
            return entry.path
    return None


def _opening(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    path = evaluate(call.argument(0, "file"), names)
    if not isinstance(path, str) or not path or path.startswith(("/proc/", "/sys/", "/dev/")):
        return
    absolute = posixpath.normpath(posixpath.join(site.cwd, path))
    try:
        entry = site.env.fs.lookup(absolute)
    except SymlinkLoopError:
        return
    if entry is not None and entry.is_file:
        effects.needs.append(Need(absolute, f"opened at {reasons.at(site.path, line)}", optional=True, data=True))


def _zone(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    key = evaluate(call.argument(0, "key"), names)
    where = reasons.at(site.path, line)
    if not isinstance(key, str):
        site.warn(site.path, f"line {line}: zoneinfo.ZoneInfo() of a zone named at run time: "
                                          "the whole time zone database is kept")
        effects.needs += [Need(folder, f"time zones for ZoneInfo at {where}", recursive=True, optional=True)
                          for folder in site.env.tzpath[:1]]
        return
    for folder in site.env.tzpath:
        path = posixpath.join(folder, key)
        if site.env.fs.lookup(path) is not None:
            effects.needs.append(Need(path, f"time zone {key} read by zoneinfo at {where}"))
            return
    effects.imports.append("tzdata")  # zoneinfo's fallback: the tzdata package's resources


def _distribution(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    name = evaluate(call.argument(0, "distribution_name"), names)
    if not isinstance(name, str):
        return
    dist = site.env.distributions.named(name)
    if dist is not None:
        effects.needs.append(Need(dist.path, f"metadata of {name} read at {reasons.at(site.path, line)}",
                                  recursive=True))


def _folders(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    """The folders a web framework reads files from by the names requests and templates give
    (which files is the clients' input, so each folder is kept whole)."""
    if site.strict:
        return
    where = reasons.at(site.path, line)
    folders: list[str] = []
    if call.func in CWD_FOLDERS:
        keyword, position = CWD_FOLDERS[call.func]
        value = evaluate(call.argument(position, keyword), names)
        for name in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if isinstance(name, str):
                folders.append(posixpath.join(site.cwd, name))
    else:
        app = APP_FOLDERS[call.func]
        import_name = evaluate(call.argument(app.import_name, "import_name"), names)
        root = _module_folder(import_name, site) if isinstance(import_name, str) else None
        for keyword, (position, default) in app.folders.items():
            argument = call.argument(position, keyword)
            named = evaluate(argument, names) if argument is not None else default
            if isinstance(named, str) and root is not None:
                folders.append(posixpath.join(root, named))
    for folder in map(posixpath.normpath, folders):
        if folder == "/":
            site.warn(site.path, f"line {line}: {call.func} serves the whole root directory: not kept whole")
            continue
        effects.needs.append(Need(folder, f"files served or rendered by {call.func} at {where}",
                                  recursive=True, optional=True, data=True))


def _module_folder(module: str, site: CallSite) -> str | None:
    """The folder of the module `module` (a framework's root path for its import name)."""
    if module == site.module and site.path:
        return posixpath.dirname(site.path)
    spec = site.env.finder.find(module)
    if spec is None or spec.origin is None:
        return None
    return posixpath.dirname(spec.origin)


def _load_entry_point(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    """`load_entry_point("dist==1.0", "console_scripts", "name")`: the console scripts setuptools
    writes (Debian's /usr/bin/* among them) find their function through the distribution's
    metadata, with pkg_resources or with importlib.metadata's `distribution()`."""
    values = [evaluate(call.argument(i, keyword), names) for i, keyword in enumerate(("dist", "group", "name"))]
    if not all(isinstance(value, str) for value in values):
        return
    requirement, group, name = (str(value) for value in values)
    dist = site.env.distributions.named(re.split(r"[=<>!~ \[;]", requirement, maxsplit=1)[0])
    if dist is None:
        site.warn(site.path, f"line {line}: load_entry_point() of {requirement!r}: no such distribution on sys.path")
        return
    where = reasons.at(site.path, line)
    effects.needs.append(Need(dist.path, f"metadata of {dist.name}, whose entry point {group}:{name} is loaded "
                                         f"at {where}", recursive=True))
    module = site.env.distributions.entry_point_modules(dist, group).get(name)
    if module is not None:
        effects.imports.append(module)


def _entry_points(call: Call, names: dict[str, str], line: int, site: CallSite, effects: CallEffects) -> None:
    group = evaluate(call.argument(99, "group"), names)
    if not isinstance(group, str):
        return
    for dist, module in site.env.distributions.entry_points(group):
        effects.needs.append(Need(dist.path, f"entry points {group!r} loaded at {reasons.at(site.path, line)}",
                                  recursive=True))
        effects.imports.append(module)
