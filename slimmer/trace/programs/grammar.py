"""How a program that runs another lays out its arguments, and the command found in them.

`nice -n 5 CMD`, `gosu USER CMD`, `timeout -s KILL 10 CMD`, `env -i A=1 CMD`, `su USER -c CODE`:
the program's own options (some with a value, attached or not: `-n5`, `--signal=KILL`), then
positional words (a user, a duration, a new root), then the command line it runs, or shell
code given to an option. A word known only at run time where the options are makes the
command impossible to locate: that is said, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slimmer.trace.argv import is_dynamic
from slimmer.trace.shell.values import ASSIGNMENT


@dataclass(frozen=True)
class OptionGrammar:
    """The argument layout of a program that runs a command.

    with_value: options that take a value (the next word unless attached). positional: words
    between the options and the command. assignments: NAME=VALUE words may come before the
    command (env, sudo). split: options whose value is split into words that come before the
    rest (`env -S 'bash -e'`). code: options whose value is shell code (`su -c`, `flock -c`).
    stop: options after which no command follows (`taskset -p PID`). needs: the command is
    there only with one of these options (`runuser -u USER CMD`, else a login shell). default:
    what runs when no command is given (xargs runs echo).
    """

    with_value: frozenset[str] = frozenset()
    positional: int = 0
    assignments: bool = False
    split: frozenset[str] = frozenset()
    code: frozenset[str] = frozenset()
    stop: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    default: tuple[str, ...] = ()


def grammar(with_value: str = "", positional: int = 0, assignments: bool = False, split: str = "",
            code: str = "", stop: str = "", needs: str = "", default: tuple[str, ...] = ()) -> OptionGrammar:
    """An OptionGrammar from space-separated option lists, to keep the table short."""
    return OptionGrammar(frozenset(with_value.split()), positional, assignments, frozenset(split.split()),
                         frozenset(code.split()), frozenset(stop.split()), frozenset(needs.split()), default)


@dataclass(frozen=True)
class Wrapped:
    """What a wrapper's arguments run: a command line, shell code, or nothing that can be told."""

    argv: list[str] = field(default_factory=list)
    code: str | None = None
    unclear: str | None = None  # the word that hides where the command starts


def wrapped_command(args: list[str], spec: OptionGrammar) -> Wrapped:
    """The command line (or shell code) in a wrapper's arguments (its argv without argv[0])."""
    code = _code(args, spec)
    if code is not None:
        return Wrapped(code=code)
    rest = list(args)
    positional = spec.positional
    seen: set[str] = set()
    in_options = True
    while rest:
        word = rest[0]
        if is_dynamic(word):
            if positional:  # gosu "$USER" cmd
                positional -= 1
                rest = rest[1:]
                continue
            if spec.positional or not in_options or not spec.with_value:
                break  # it is the command, known only at run time
            return Wrapped(unclear=word)
        if in_options and word == "--":
            in_options = False
            rest = rest[1:]
            continue
        if in_options and word.startswith("-"):
            option = word.split("=", 1)[0] if word.startswith("--") else word[:2]
            seen.add(option)
            if option in spec.stop:
                return Wrapped()
            if option in spec.split:
                value = word[2:] if len(word) > 2 and not word.startswith("--") else \
                    word.partition("=")[2] if "=" in word else rest[1] if len(rest) > 1 else ""
                taken = 1 if word != option else 2
                rest = value.split() + rest[taken:]
                continue
            rest = rest[2:] if option in spec.with_value and word == option else rest[1:]
            continue
        if spec.assignments and ASSIGNMENT.match(word):
            rest = rest[1:]
            continue
        if positional:
            positional -= 1
            rest = rest[1:]
            continue
        break
    if spec.needs and not seen & spec.needs:
        return Wrapped()
    return Wrapped(argv=rest or list(spec.default))


def _code(args: list[str], spec: OptionGrammar) -> str | None:
    """The value of a code option (`su USER -c CODE`): such programs take their options anywhere
    before `--`, as getopt does by default."""
    for i, word in enumerate(args):
        if word == "--":
            break
        name, eq, value = word.partition("=")
        if word in spec.code and i + 1 < len(args):
            return args[i + 1]
        if word.startswith("--") and eq and name in spec.code:
            return value
    return None
