"""The node command line (and NODE_OPTIONS): which options load code, and which word is the program.

`node [options] [script.js | -e CODE | -] [arguments]`: options come first; those that take a
value take the next word unless written `--name=value`. The ones that matter here load code
(`-r`/`--require`, `--import`, `--loader`), run code given inline (`-e`, `-p`), change resolution
(`-C`/`--conditions`, `--preserve-symlinks`) or name files the runtime reads (`--env-file`,
`--icu-data-dir`, `--openssl-config`, `--run` names a package.json script, `--enable-source-maps`
makes it read source maps).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

# Options that take a value; written with a space, the value is the next word.
_WITH_VALUE = frozenset({
    "-r", "--require", "--import", "--loader", "--experimental-loader", "-e", "--eval", "-p", "--print",
    "-C", "--conditions", "--env-file", "--env-file-if-exists", "--icu-data-dir", "--openssl-config", "--title",
    "--input-type", "--inspect-port", "--debug-port", "--max-http-header-size", "--unhandled-rejections",
    "--dns-result-order", "--diagnostic-dir", "--report-dir", "--report-directory", "--report-filename",
    "--report-signal", "--redirect-warnings", "--heapsnapshot-signal", "--heapsnapshot-near-heap-limit",
    "--cpu-prof-dir", "--cpu-prof-name", "--cpu-prof-interval", "--heap-prof-dir", "--heap-prof-name",
    "--heap-prof-interval", "--secure-heap", "--secure-heap-min", "--tls-cipher-list", "--tls-keylog",
    "--trace-event-categories", "--trace-event-file-pattern", "--disable-warning", "--watch-path",
    "--test-reporter", "--test-reporter-destination", "--test-name-pattern", "--test-concurrency",
    "--experimental-policy", "--policy-integrity", "--experimental-default-type", "--run",
    "--es-module-specifier-resolution", "--experimental-specifier-resolution", "--localstorage-file",
    "--experimental-config-file", "--watch-kill-signal", "--stack-trace-limit", "--max-old-space-size",
})


@dataclass
class NodeCommand:
    """What one node command line asks the runtime to load."""

    script: str | None = None  # the program operand (None: -e/-p code, stdin or the REPL); what follows is its own
    requires: list[str] = field(default_factory=list)  # -r: CommonJS preloads
    imports: list[str] = field(default_factory=list)  # --import, --loader: ES module preloads
    inline_code: list[str] = field(default_factory=list)  # -e / -p
    conditions: list[str] = field(default_factory=list)  # -C / --conditions
    files: list[str] = field(default_factory=list)  # read by the runtime: --env-file, --openssl-config
    directories: list[str] = field(default_factory=list)  # --icu-data-dir
    run_script: str | None = None  # --run NAME: a package.json script
    source_maps: bool = False  # --enable-source-maps


def parse_node_options(words: list[str], command: NodeCommand | None = None, operands: bool = True) -> NodeCommand:
    """Read `words` (a command line without argv[0], or NODE_OPTIONS with operands=False) into `command`."""
    command = command or NodeCommand()
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word == "--":
            break
        if not word.startswith("-") or word == "-":
            rest.insert(0, word)
            break
        name, has_value, value = word.partition("=")
        if not has_value and name in _WITH_VALUE:
            value = rest.pop(0) if rest else ""
        elif not has_value and len(name) > 2 and not name.startswith("--") and name[:2] in _WITH_VALUE:
            name, value = name[:2], name[2:]  # -rdotenv/config, -pe: a short option glued to its value
            if name == "-p" and value == "e":  # `-pe CODE` is `-p CODE`
                value = rest.pop(0) if rest else ""
        _option(command, name, value)
    if operands and rest and rest[0] != "-":  # `-` (or nothing): the program comes from standard input
        command.script = rest[0]
    return command


def parse_node_options_env(text: str, command: NodeCommand) -> NodeCommand:
    """NODE_OPTIONS: options only, split as a shell would (Node honours double quotes)."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return parse_node_options(words, command, operands=False)


def _option(command: NodeCommand, name: str, value: str) -> None:
    if name in ("-r", "--require"):
        command.requires.append(value)
    elif name in ("--import", "--loader", "--experimental-loader"):
        command.imports.append(value)
    elif name in ("-e", "--eval", "-p", "--print"):
        command.inline_code.append(value)
    elif name in ("-C", "--conditions"):
        command.conditions.append(value)
    elif name in ("--env-file", "--env-file-if-exists", "--openssl-config"):
        command.files.append(value)
    elif name == "--icu-data-dir":
        command.directories.append(value)
    elif name == "--run":
        command.run_script = value
    elif name == "--enable-source-maps":
        command.source_maps = True
