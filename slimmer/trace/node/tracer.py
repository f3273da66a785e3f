"""The Node.js plug-in: `node` command lines (argv handlers) and the modules they load (a tracer).

`node app.js` gives app.js the role "node"; the tracer then reads each such module, resolves what
it requires and imports as the image's runtime would (resolve.py), and gives the role to every
module found, so the whole graph is read, every branch of it. Each module remembers the node
process it runs in (runtime, options, working directory): resolution depends on them. What the
code only reads (package.json files, JSON modules, paths it names, data of a package) is needed
as data: a shell script or program it reads is not run for that.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.argv import is_dynamic
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import ArgvHandler, CommandResolver
from slimmer.trace.elf.tracer import ElfTracer
from slimmer.trace.namedfiles import named_files
from slimmer.trace.node import reasons
from slimmer.trace.node.addons import addon_files, elf_machine, is_addon_loader
from slimmer.trace.node.dependencies import Dependency, DependencyKind, extract
from slimmer.trace.node.evaluate import StaticString
from slimmer.trace.node.options import NodeCommand, parse_node_options, parse_node_options_env
from slimmer.trace.node.packagefiles import CODE_SUFFIXES, package_files, package_root
from slimmer.trace.node.packagejson import PackageJsons
from slimmer.trace.node.patterns import matching_files, matching_packages
from slimmer.trace.node.resolve import ModuleResolver, Resolution
from slimmer.trace.node.runtime import BuildConfig, NodeRuntime, read_build_config
from slimmer.trace.node.scripts import PackageScripts

ROLE = "node"
_NOT_CODE = (".json", ".node", ".wasm")
_MODULE_KINDS = {DependencyKind.REQUIRE, DependencyKind.REQUIRE_RESOLVE, DependencyKind.IMPORT,
                 DependencyKind.DYNAMIC_IMPORT, DependencyKind.IMPORT_RESOLVE}
_REQUIRE_KINDS = {DependencyKind.REQUIRE, DependencyKind.REQUIRE_RESOLVE}
# A string starting with an absolute path of two or more components (`'/etc/app/config.json'`).
_QUOTED_PATH = re.compile(rb"""['"`]/[\w.+@%=-]+/""")
_SOURCE_MAP = re.compile(rb"//[#@] sourceMappingURL=(?!data:)(\S+)\s*$")
# Variables the runtime reads files or directories from.
_ENV_FILES = {"NODE_EXTRA_CA_CERTS": False, "NODE_ICU_DATA": True}


@dataclass(frozen=True)
class NodeProcess:
    """A node process: the runtime, how its modules resolve, and its working directory."""

    runtime: NodeRuntime
    resolver: ModuleResolver
    commands: CommandResolver  # how its child processes are found (the PATH it was started with)
    cwd: str
    machine: int | None  # e_machine of the runtime: the native addons it can load
    source_maps: bool = False  # --enable-source-maps: Node reads the source map each module names


class NodeTracer:
    """Tracer plug-in for modules with the "node" role; its `handlers()` start them."""

    name = "node"

    def __init__(self, ctx: TraceContext, elf: ElfTracer) -> None:
        self.elf = elf
        self.ctx = ctx
        self.packages = PackageJsons(self.ctx.fs)
        self.scripts = PackageScripts(self.packages)
        self._runtimes: dict[str, NodeRuntime] = {}
        self._resolvers: dict[tuple[str, tuple[str, ...]], ModuleResolver] = {}
        self._process_of: dict[str, NodeProcess] = {}  # module (real path) -> process it runs in
        self._whole: set[str] = set()  # packages kept whole
        self._addons: set[str] = set()  # packages whose native addons are kept
        self._first: NodeProcess | None = None  # for modules reached without a node command line

    def handlers(self) -> dict[str, ArgvHandler]:
        return {"node": self.run_node, "nodejs": self.run_node, **self.scripts.handlers()}

    # -- node command lines --

    def run_node(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        """`node [options] SCRIPT ARGS`: the program module, preloads, inline code, files of options."""
        program = resolver.find(argv[0], cwd)
        if program is None:
            return []
        command = NodeCommand()
        if self.ctx.env.get("NODE_OPTIONS"):
            parse_node_options_env(self.ctx.env["NODE_OPTIONS"], command)
        parse_node_options(argv[1:], command)
        process = self._process(resolver, resolver.real_path(program, cwd), command, cwd)
        found = self._runtime_needs(process)
        if command.script is not None and is_dynamic(command.script):
            resolver.warn(f"node runs a program built at run time: {command.script} ({reason})")
        elif command.script is not None:
            found += self._main(process, posixpath.join(cwd, command.script), f"program run by node ({reason})",
                                None)
        for specifier in [s for s in command.requires + command.imports if is_dynamic(s)]:
            resolver.warn(f"node preloads a module built at run time: {specifier} ({reason})")
        for specifier in [s for s in command.requires if not is_dynamic(s)]:
            found += self._resolved(process, process.resolver.require(specifier, cwd), specifier,
                                    f"preloaded by node -r ({reason})", None)
        for specifier in [s for s in command.imports if not is_dynamic(s)]:
            found += self._resolved(process, process.resolver.import_(specifier, cwd), specifier,
                                    f"preloaded by node --import ({reason})", None)
        for number, code in enumerate(command.inline_code, 1):
            found += self._module_needs(posixpath.join(cwd, f"[eval{number}]"), code.encode(), process, None)
        found += [Need(posixpath.join(cwd, path), f"read by node ({reason})", optional=True, data=True)
                  for path in command.files]
        found += [Need(posixpath.join(cwd, path), f"read by node ({reason})", recursive=True, optional=True, data=True)
                  for path in command.directories]
        if command.run_script is not None:
            found += self.scripts.run(resolver, self.scripts.project(cwd), command.run_script, [], "node",
                                      reason, hooks=False)
        return found

    def _runtime_needs(self, process: NodeProcess) -> list[Need]:
        """Files the runtime loads by itself: distribution built-ins, certificates and ICU data named by Env."""
        config = process.runtime.config
        found = [Need(path, f"built-in module of {config.found_in} loaded from a file", optional=True, role=ROLE)
                 for path in config.shared_builtins]
        for path in config.shared_builtins:
            self._process_of.setdefault(self._real(path), process)
        for variable, is_directory in _ENV_FILES.items():
            value = self.ctx.env.get(variable)
            if value:
                found.append(Need(posixpath.join(process.cwd, value), f"named by {variable} (read by node)",
                                  recursive=is_directory, optional=True, data=True))
        return found

    def _process(self, commands: CommandResolver, program: str, command: NodeCommand, cwd: str) -> NodeProcess:
        runtime = self._runtime(program)
        key = (program, tuple(command.conditions))
        if key not in self._resolvers:
            settings = runtime.settings(command, dict(self.ctx.env), self._homes())
            self._resolvers[key] = ModuleResolver(self.ctx.fs, self.packages, settings)
        entry = self.ctx.fs.lookup(program)
        machine = elf_machine(self.ctx.fs, entry) if entry is not None and entry.is_file else None
        process = NodeProcess(runtime, self._resolvers[key], commands, cwd, machine, command.source_maps)
        self._first = self._first or process
        return process

    def _runtime(self, program: str) -> NodeRuntime:
        """The runtime of a node binary, with the build configuration of it or of its libnode."""
        if program not in self._runtimes:
            config = self._build_config(program)
            if config is None:
                self.ctx.warn(program, "no Node build configuration found in the runtime: assuming Node's defaults")
                config = BuildConfig()
            self._runtimes[program] = NodeRuntime(program, config)
        return self._runtimes[program]

    def _build_config(self, program: str) -> BuildConfig | None:
        tree = self.elf.tree(program, self.ctx)
        objects = [program] + [o.real for o in tree.objects if posixpath.basename(o.real).startswith("libnode")] \
            if tree is not None else [program]
        for path in objects:
            entry = self.ctx.fs.lookup(path)
            if entry is not None and entry.type is EntryType.FILE:
                config = read_build_config(self.ctx.fs, path, entry)
                if config is not None:
                    return config
        return None

    def _homes(self) -> list[str]:
        """$HOME (global module folders live there); unset in the config, the home of any user."""
        if self.ctx.env.get("HOME"):
            return [self.ctx.env["HOME"]]
        entry = self.ctx.fs.lookup("/etc/passwd")
        if entry is None or not entry.is_file:
            return []
        homes = [line.split(":")[5] for line in self.ctx.fs.read(entry).decode("utf-8", "replace").splitlines()
                 if line.count(":") >= 6]
        return list(dict.fromkeys(h for h in homes if h.startswith("/")))

    # -- the tracer interface --

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        if ctx.roles.get(path) != ROLE or entry.type is not EntryType.FILE:
            return []
        process = self._process_of.get(path) or self._first
        if process is None:
            return []  # no node command line started anything: no runtime to resolve with
        return self._module_needs(path, ctx.fs.read(entry), process, path)

    # -- one module --

    def _module_needs(self, path: str, source: bytes, process: NodeProcess, requester: str | None) -> list[Need]:
        found: list[Need] = []
        scope = self.packages.scope(posixpath.dirname(path))
        if scope is not None:
            found.append(Need(scope.path, reasons.package_json_reason(path), optional=True, data=True))
        if process.source_maps and (match := _SOURCE_MAP.search(source[-4096:])):
            source_map = unquote(match.group(1).decode("utf-8", "replace"))
            found.append(Need(posixpath.join(posixpath.dirname(path), source_map),
                              f"source map of {path} (node --enable-source-maps)", optional=True, data=True))
        if _QUOTED_PATH.search(source):
            found += named_files(self.ctx.fs, _lines_with_quoted_paths(source), path)
        for dependency in extract(source, path, process.cwd):
            reason = reasons.dependency_reason(dependency, path)
            kind = dependency.kind
            if kind in _MODULE_KINDS:
                found += self._module(process, dependency, path, reason, requester)
            elif kind in (DependencyKind.WORKER, DependencyKind.FORK):
                target = _path_value(dependency.value, process.cwd)
                if target is None:
                    self._warn_dynamic(requester, dependency, "the module it starts is not known")
                else:
                    found += self._main(process, target, reason, requester)
            elif kind is DependencyKind.SPAWN:
                found += self._spawn(process, dependency, reason, requester)
            elif kind is DependencyKind.SHELL:
                command_line = dependency.value.literal
                if command_line is None:
                    self._warn_dynamic(requester, dependency, "the commands it runs are not known")
                else:
                    found += process.commands.needs(["/bin/sh", "-c", command_line], reason, process.cwd, requester)
            else:
                found += self._file(process, dependency, path, reason)
        return found

    def _module(self, process: NodeProcess, dependency: Dependency, path: str, reason: str,
                requester: str | None) -> list[Need]:
        specifier = dependency.value.literal
        directory = posixpath.dirname(path)
        if specifier is None:
            return self._dynamic_module(process, dependency, path, requester)
        if dependency.kind in _REQUIRE_KINDS:
            resolution = process.resolver.require(specifier, directory)
        else:
            resolution = process.resolver.import_(specifier, directory)
            if resolution.error is not None:
                # Loaders and transpiled code: try the CommonJS rules before giving up.
                fallback = process.resolver.require(specifier, directory)
                if fallback.files:
                    resolution = fallback
                    reason += " (found by the CommonJS rules: Node's ES module resolver would not find it)"
        found = self._resolved(process, resolution, specifier, reason, requester, quiet=dependency.optional,
                               line=dependency.line)
        if is_addon_loader(specifier):
            found += self._addon_needs(process, package_root(self.packages, directory), reason)
        return found

    def _resolved(self, process: NodeProcess, resolution: Resolution, specifier: str, reason: str,
                  requester: str | None, quiet: bool = False, line: int | None = None) -> list[Need]:
        """Needs for what a resolution found; a failure is a warning (not for loads in a `try`)."""
        if resolution.error is not None and not quiet:
            where = f"line {line}: " if line is not None else ""
            self.ctx.warn(requester, f"{where}{resolution.error} ({reason})")
        found = [Need(p, f"read to resolve {specifier!r} ({reason})", optional=True, data=True)
                 for p in resolution.package_jsons]
        for file in resolution.files:
            found.append(self._code(process, file, reason))
        return found

    def _code(self, process: NodeProcess, file: str, reason: str) -> Need:
        """A module file: JavaScript gets the role (and this process); JSON and addons do not need it."""
        if file.endswith(_NOT_CODE):
            return _not_javascript(file, reason)
        self._process_of.setdefault(self._real(file), process)
        return Need(file, reason, role=ROLE)

    def _main(self, process: NodeProcess, path: str, reason: str, requester: str | None) -> list[Need]:
        return self._resolved(process, process.resolver.main(path), path, reason, requester)

    def _spawn(self, process: NodeProcess, dependency: Dependency, reason: str, requester: str | None) -> list[Need]:
        program = process.runtime.program if dependency.exec_path else dependency.value.literal
        if program is None:
            self._warn_dynamic(requester, dependency, "the program it runs is not known")
            return []
        argv = [program]
        for word in dependency.args or ():
            if word.literal is None:
                break  # the rest is only known at run time
            argv.append(word.literal)
        return process.commands.needs(argv, reason, process.cwd, requester)

    def _file(self, process: NodeProcess, dependency: Dependency, path: str, reason: str) -> list[Need]:
        """A path the code names: an existing data file or directory of the application."""
        target = _path_value(dependency.value, process.cwd)
        if target is None:
            if not dependency.value.prefix.startswith("/"):
                return []
            return self._matching(dependency.value, package_root(self.packages, posixpath.dirname(path)), process,
                                  reason, code=False)
        entry = self.ctx.fs.lookup(target)
        if entry is None:
            return []
        if entry.type is EntryType.DIR:
            directory = posixpath.dirname(path)
            if directory == target or directory.startswith(target.rstrip("/") + "/") \
                    or posixpath.basename(target) == "node_modules" \
                    or self.packages.in_directory(target) is not None \
                    or self.ctx.fs.lookup(posixpath.join(target, "node_modules")) is not None:
                return []  # a base directory to build paths from (the package, the app), not data
            return [Need(target, reason, recursive=True, optional=True, data=True)]
        if target.endswith(CODE_SUFFIXES):
            return [self._code(process, target, reason)]  # a module run some way (a worker, a child): traced
        return [Need(target, reason, optional=True, data=True)]

    def _dynamic_module(self, process: NodeProcess, dependency: Dependency, path: str,
                        requester: str | None) -> list[Need]:
        """A specifier built at run time: the files or packages its known text allows, else the whole
        package it appears in."""
        prefix = dependency.value.prefix
        directory = posixpath.dirname(path)
        if prefix.startswith(("./", "../", "/")):
            value = dependency.value if prefix.startswith("/") else StaticString.of(directory + "/") + dependency.value
            found = self._matching(value, package_root(self.packages, directory), process,
                                   reasons.pattern_reason(dependency, path), code=True)
            if found:
                self._warn_dynamic(requester, dependency, f"kept the {len(found)} files that match")
                return found
        elif prefix.strip("@/"):
            found = self._matching_packages(process, dependency, path)
            if found:
                self._warn_dynamic(requester, dependency, f"kept the {len(found)} files of the packages that match")
                return found
        root = package_root(self.packages, directory)
        self._warn_dynamic(requester, dependency, f"kept the whole package {root}")
        return self._whole_package(process, root, reasons.whole_package_reason(root, dependency, path))

    def _matching_packages(self, process: NodeProcess, dependency: Dependency, path: str) -> list[Need]:
        """`require('@img/sharp-' + platform + '/sharp.node')`, `require('caniuse-lite/data/' + x)`:
        the packages whose names fit, resolved (their `exports` apply) or, past the name, their files."""
        directory = posixpath.dirname(path)
        reason = reasons.pattern_reason(dependency, path)
        matches = matching_packages(process.resolver, dependency.value, directory)
        found: list[Need] = []
        for specifier in matches.specifiers:
            resolution = process.resolver.require(specifier, directory) if dependency.kind in _REQUIRE_KINDS \
                else process.resolver.import_(specifier, directory)
            found += self._resolved(process, resolution, specifier, reason, None, quiet=True)
        for package_dir, pattern in matches.files_in:
            found += self._matching(pattern, package_dir, process, reason, code=True)
        for package_dir in matches.whole:
            found += self._whole_package(process, package_dir, reason)
        return found

    def _whole_package(self, process: NodeProcess, root: str, reason: str) -> list[Need]:
        if root in self._whole:
            return []
        self._whole.add(root)
        found = []
        for entry in package_files(self.ctx.fs, self.packages, root):
            if entry.type is EntryType.FILE and entry.path.endswith(CODE_SUFFIXES):
                found.append(self._code(process, entry.path, reason))
            elif not entry.path.endswith(".node") or process.machine in (None, elf_machine(self.ctx.fs, entry)):
                found.append(_not_javascript(entry.path, reason))  # data, and addons the runtime's machine can load
        return found

    def _matching(self, value: StaticString, root: str, process: NodeProcess, reason: str,
                  code: bool) -> list[Need]:
        """The files a partly known path (of a module when `code`) can name inside `root`."""
        return [self._code(process, entry.path, reason) if code and entry.path.endswith(CODE_SUFFIXES)
                else _not_javascript(entry.path, reason) if code else Need(entry.path, reason, data=True)
                for entry in matching_files(self.ctx.fs, value, root, code)]

    def _addon_needs(self, process: NodeProcess, root: str, reason: str) -> list[Need]:
        if root in self._addons:
            return []
        self._addons.add(root)
        return [Need(path, f"native addon of {root}, found by its loader at run time ({reason})")
                for path in addon_files(self.ctx.fs, root, process.machine)]

    def _real(self, path: str) -> str:
        try:
            return self.ctx.fs.resolve(path).path
        except SymlinkLoopError:
            return path

    def _warn_dynamic(self, requester: str | None, dependency: Dependency, kept: str) -> None:
        self.ctx.warn(requester, reasons.dynamic_warning(dependency, kept))


def _not_javascript(path: str, reason: str) -> Need:
    """A file of a package that node does not run as JavaScript: a native addon is loaded (the ELF
    tracer follows its libraries), anything else (JSON, WebAssembly, data) is read."""
    return Need(path, reason) if path.endswith(".node") else Need(path, reason, data=True)


def _lines_with_quoted_paths(source: bytes) -> str:
    """The lines that quote an absolute path, the others blanked (line numbers stay right)."""
    kept = b"\n".join(line if _QUOTED_PATH.search(line) else b"" for line in source.split(b"\n"))
    return kept.decode("utf-8", "surrogateescape")


def _path_value(value: StaticString, cwd: str) -> str | None:
    """A fully known path: a `file:` URL, an absolute path, or one relative to the working directory."""
    literal = value.literal
    if literal is None or not literal:
        return None
    if literal.startswith("file:"):
        return posixpath.normpath(unquote(urlsplit(literal).path))
    return posixpath.normpath(posixpath.join(cwd, literal))
