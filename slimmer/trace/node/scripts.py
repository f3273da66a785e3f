"""`npm start`, `npm run X`, `yarn X`, `pnpm X`, `npx X`, `node --run X`: package.json scripts.

A package manager runs a script as `/bin/sh -c SCRIPT` from the package directory, with
`node_modules/.bin` of that directory and of each parent put in front of PATH; `npm run X` runs
`preX` and `postX` around it, `npm start` without a start script runs `node server.js`, and
`npm restart` runs `restart` or else `stop` and `start`. The script's command line goes back
through the command resolver, so the shell, node and any other interpreter handle it.

The package manager itself (npm is a Node program of hundreds of files) is kept because it
really is the program that runs; a warning says that starting the script's command directly
would not need it.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import replace

from slimmer.trace.argv import is_dynamic
from slimmer.trace.closure import Need
from slimmer.trace.commands import ArgvHandler, CommandResolver, split_options
from slimmer.trace.node.packagejson import PackageJson, PackageJsons

_NPM_OPTIONS_WITH_VALUE = frozenset({"--prefix", "-C", "--workspace", "-w", "--script-shell", "--userconfig",
                                     "--globalconfig", "--cache", "--loglevel", "--node-options"})
_NPM_RUN = frozenset({"run", "run-script", "rum", "urn"})
_NPM_LIFECYCLE = {"start": "start", "stop": "stop", "test": "test", "t": "test", "tst": "test", "restart": "restart"}
_YARN_BUILTINS = frozenset({"add", "audit", "autoclean", "bin", "cache", "check", "config", "create", "dedupe",
                            "generate-lock-entry", "global", "help", "import", "info", "init", "install", "licenses",
                            "link", "list", "login", "logout", "node", "outdated", "owner", "pack", "policies",
                            "publish", "remove", "tag", "team", "unlink", "unplug", "upgrade", "upgrade-interactive",
                            "version", "versions", "why", "workspace", "workspaces", "dlx", "exec", "up", "ci",
                            "i", "rm", "uninstall", "update", "prune", "store", "fetch", "patch", "setup"})


class PackageScripts:
    """Argv handlers for the package managers, reading the image's package.json files."""

    def __init__(self, packages: PackageJsons) -> None:
        self.packages = packages

    def handlers(self) -> dict[str, ArgvHandler]:
        return {"npm": self.npm, "yarn": self.yarn, "pnpm": self.pnpm, "npx": self.npx}

    def npm(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        options, operands = split_options(argv[1:], _NPM_OPTIONS_WITH_VALUE)
        prefix = _option_value(options, ("--prefix", "-C"))
        directory = posixpath.normpath(posixpath.join(cwd, prefix)) if prefix else self.project(cwd)
        if not operands:
            return []
        command, rest = operands[0], operands[1:]
        if is_dynamic(command) or (command in _NPM_RUN and rest and is_dynamic(rest[0])):
            resolver.warn(f"npm runs a script named at run time: {' '.join(operands[:2])} ({reason})")
            return []
        if command in _NPM_RUN:
            if not rest:
                return []
            name, extra = rest[0], _after_double_dash(rest[1:])
        elif command in _NPM_LIFECYCLE:
            name, extra = _NPM_LIFECYCLE[command], _after_double_dash(rest)
        else:
            resolver.ctx.warn(None, f"npm {command} ({reason}): only script commands (start, run, test, ...) "
                                    "are followed; npm's own code is kept as it is run")
            return []
        return self.run(resolver, directory, name, extra, "npm", reason, hooks=True)

    def yarn(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        return self._runner(resolver, argv, reason, cwd, "yarn")

    def pnpm(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        return self._runner(resolver, argv, reason, cwd, "pnpm")

    def npx(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        """`npx NAME ARGS`: a program of node_modules/.bin (or PATH)."""
        _, operands = split_options(argv[1:], frozenset({"-p", "--package", "-c", "--call"}))
        if not operands:
            return []
        directory = self.project(cwd)
        return _with_bin_path(resolver, directory).needs(operands, f"run by npx ({reason})", cwd)

    def _runner(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str, tool: str) -> list[Need]:
        """`yarn [run] NAME ARGS` / `pnpm [run] NAME ARGS`: a script, else a program of node_modules/.bin."""
        _, operands = split_options(argv[1:], frozenset({"--cwd", "-C", "--dir"}))
        directory = self.project(cwd)
        if operands[:1] == ["run"]:
            operands = operands[1:]
        if not operands or operands[0] in _YARN_BUILTINS:
            what = operands[0] if operands else "install"
            resolver.ctx.warn(None, f"{tool} {what} ({reason}): only scripts and programs of node_modules/.bin "
                                    "are followed")
            return []
        if is_dynamic(operands[0]):
            resolver.warn(f"{tool} runs a script named at run time: {operands[0]} ({reason})")
            return []
        name, extra = operands[0], _after_double_dash(operands[1:])
        package = self.packages.in_directory(directory)
        if package is not None and name in package.scripts:
            return self.run(resolver, directory, name, extra, tool, reason, hooks=True)
        return _with_bin_path(resolver, directory).needs(operands, f"run by {tool} ({reason})", directory)

    def run(self, resolver: CommandResolver, directory: str, name: str, extra: list[str], tool: str,
            reason: str, hooks: bool) -> list[Need]:
        """The script `name` of `directory`/package.json (with its pre and post scripts when `hooks`)."""
        package = self.packages.in_directory(directory)
        if package is None:
            resolver.ctx.warn(None, f"{tool}: no package.json in {directory} ({reason})")
            return []
        found = [Need(package.path, f"scripts read by {tool} ({reason})", data=True)]
        lines = _script_lines(package, name, hooks, directory, self.packages)
        if not lines:
            resolver.ctx.warn(package.path, f"{tool}: no script {name!r} in {package.path} ({reason})")
            return found
        if tool != "node":
            resolver.ctx.warn(package.path, f"{tool} is the program that runs ({reason}): it is kept with its own "
                                             f"code only to start the {name!r} script: "
                                             f"{' && '.join(text for _, text in lines)}; running that command "
                                             "directly would not need it")
        scripts = _with_bin_path(resolver, directory)
        for script, text in lines:
            line = text + ("".join(" " + shlex.quote(word) for word in extra) if script == name else "")
            why = f"script {script!r} of {package.path} run by {tool} ({reason})"
            found += scripts.needs(["/bin/sh", "-c", line], why, directory, package.path)
        return found

    def project(self, cwd: str) -> str:
        """npm's local prefix: the nearest directory up from `cwd` with a package.json or node_modules."""
        directory = cwd
        while True:
            if self.packages.in_directory(directory) is not None \
                    or self.packages.fs.lookup(posixpath.join(directory, "node_modules")) is not None:
                return directory
            if directory == "/":
                return cwd
            directory = posixpath.dirname(directory)


def _script_lines(package: PackageJson, name: str, hooks: bool, directory: str,
                  packages: PackageJsons) -> list[tuple[str, str]]:
    """(script name, command line) in the order they run."""
    if name == "restart" and "restart" not in package.scripts:
        return _script_lines(package, "stop", hooks, directory, packages) + \
            _script_lines(package, "start", hooks, directory, packages)
    scripts = dict(package.scripts)
    if name == "start" and "start" not in scripts and packages.fs.lookup(posixpath.join(directory, "server.js")):
        scripts["start"] = "node server.js"  # npm's default start script
    names = [f"pre{name}", name, f"post{name}"] if hooks else [name]
    if name not in scripts:
        return []
    return [(n, scripts[n]) for n in names if n in scripts]


def _with_bin_path(resolver: CommandResolver, directory: str) -> CommandResolver:
    """A resolver whose PATH starts with node_modules/.bin of `directory` and of each parent."""
    bins = []
    current = directory
    while True:
        bins.append(posixpath.join(current, "node_modules/.bin"))
        if current == "/":
            break
        current = posixpath.dirname(current)
    env = {**resolver.ctx.env, "PATH": ":".join(bins + [resolver.search_path])}
    return CommandResolver(replace(resolver.ctx, env=env), resolver.handlers)


def _option_value(options: list[str], names: tuple[str, ...]) -> str | None:
    for i, option in enumerate(options):
        if option in names and i + 1 < len(options):
            return options[i + 1]
        for name in names:
            if option.startswith(name + "="):
                return option[len(name) + 1:]
    return None


def _after_double_dash(words: list[str]) -> list[str]:
    """npm passes the words after `--` to the script (and, since npm 7, any others too)."""
    return words[1:] if words[:1] == ["--"] else words
