"""Programs that run a command line they are given: wrappers, `find -exec`, start-stop-daemon,
run-parts; and `which`, which looks programs up."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from slimmer.trace.closure import Need
from slimmer.trace.commands import CommandResolver, split_options
from slimmer.trace.find import find_paths, parse_find
from slimmer.trace.programs.grammar import OptionGrammar, wrapped_command


@dataclass(frozen=True)
class Wrapper:
    """A program that runs the command line after its own arguments, or shell code given to an
    option (then run as `/bin/sh -c CODE`); an ArgvHandler."""

    grammar: OptionGrammar

    def __call__(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        name = posixpath.basename(argv[0])
        command = wrapped_command(argv[1:], self.grammar)
        if command.unclear is not None:
            resolver.warn(f"cannot tell which argument of {name} is the command: {command.unclear} ({reason})")
            return []
        if command.code is not None:
            return resolver.needs(["/bin/sh", "-c", command.code], f"code of {name} ({reason})", cwd)
        return resolver.needs(command.argv, f"run by {name} ({reason})", cwd)


def find_command(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`find ...`: what it prints or hands to `-exec` is kept as data (files whole, directories as
    they are); `-exec CMD {} ;` runs CMD, and each match when `{}` is the program itself."""
    command = parse_find(argv[1:])
    if command is None:
        return []
    fs = resolver.ctx.fs
    matches = find_paths(fs, command, cwd) if command.prints or command.commands else []
    found = [Need(posixpath.normpath(posixpath.join(cwd, path)), f"found by find ({reason})", optional=True,
                  data=True) for path in matches]
    for line in command.commands:
        why = f"run by find -exec ({reason})"
        if line and "{}" in line[0]:
            for path in matches:
                found += resolver.needs([word.replace("{}", path) for word in line], why, cwd)
        else:
            found += resolver.needs(line, why, cwd)
    return found


def start_stop_daemon(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`start-stop-daemon --start --exec PROGRAM [--startas PROGRAM] -- ARGS`."""
    args = argv[1:]
    if not any(a in ("--start", "-S") for a in args):
        return []
    rest = args[args.index("--") + 1:] if "--" in args else []
    programs = []
    for i, word in enumerate(args):
        if word in ("--exec", "-x", "--startas", "-a") and i + 1 < len(args):
            programs.append(args[i + 1])
        elif word.startswith(("--exec=", "--startas=")):
            programs.append(word.partition("=")[2])
    found: list[Need] = []
    for program in programs:
        found += resolver.needs([program, *rest], f"started by start-stop-daemon ({reason})", cwd)
    return found


_RUN_PARTS_NAMES = re.compile(r"[A-Za-z0-9_-]+")  # Debian run-parts' default: no dots, so no .dpkg-old
_LSB_NAMES = re.compile(r"(?![^.]*\.dpkg-)[A-Za-z0-9_.-]+(?<!~)")


def run_parts(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`run-parts [--arg=A] [--regex=RE] [--lsbsysinit] [--test|--list] DIR`: every executable
    file of DIR whose name the rules accept runs, in name order, with the --arg values."""
    names, listing, arguments = _RUN_PARTS_NAMES, False, []
    operands = []
    rest = argv[1:]
    while rest:
        word, rest = rest[0], rest[1:]
        option, eq, value = word.partition("=")
        if option in ("-a", "--arg", "-u", "--umask", "--regex") and not eq and rest:
            value, rest = rest[0], rest[1:]
        if option in ("-a", "--arg"):
            arguments.append(value)
        elif option == "--regex":
            names = re.compile(value)
        elif option == "--lsbsysinit":
            names = _LSB_NAMES
        elif option in ("--test", "--list"):
            listing = True
        elif word == "--":
            operands += rest
            break
        elif not word.startswith("-"):
            operands.append(word)
    fs = resolver.ctx.fs
    found: list[Need] = []
    for directory in operands[-1:]:
        for name in fs.listdir(posixpath.join(cwd, directory)):
            if not names.fullmatch(name):
                continue
            path = posixpath.normpath(posixpath.join(cwd, directory, name))
            if listing or resolver.find(path, cwd) is None:
                found.append(Need(path, f"listed by run-parts ({reason})", optional=True, data=True))
            else:
                found += resolver.needs([path, *arguments], f"run by run-parts ({reason})", cwd)
    return found


def which(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`which NAME...`: each NAME is looked up in PATH."""
    found = []
    for name in split_options(argv[1:])[1]:
        program = resolver.find(name, cwd)
        if program is not None:
            found.append(Need(program, f"looked up by which ({reason})", optional=True))
    return found
