"""A shell's own command line: what `sh`, `bash`, `dash` are asked to run.

One parser for every place a shell is started: an ENTRYPOINT, a `#!` line, a script running
`sh -c`, a here-document fed to `bash`. The grammar is POSIX sh's, with bash's long options:
options start with `-` or `+` and may be combined (`-eux`); each `o` or `O` among the letters
takes the next word as its value (`-eo pipefail`, `-euxo pipefail`, `+o posix`); `--rcfile F`
and `--init-file F` take one too; `-` or `--` ends the options. With `-c` the first operand is
the code and the next ones are `$0`, `$1`, ...; with `-s`, or without operands, the shell reads
its standard input; otherwise the first operand is a script file and the rest its arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slimmer.trace.argv import is_dynamic

_LONG_OPTIONS_WITH_VALUE = frozenset({"--rcfile", "--init-file"})
_LETTERS_WITH_VALUE = "oO"


@dataclass(frozen=True)
class ShellInvocation:
    """What a shell runs, as its command line says."""

    code: str | None = None  # the string of `-c`
    script: str | None = None  # the script file operand
    args: tuple[str, ...] = ()  # with -c: $0, $1, ...; otherwise $1, $2, ...
    reads_stdin: bool = False  # `-s`, or nothing else to run


def parse_shell_args(args: Sequence[str]) -> ShellInvocation:
    """The shell's options, then its operands. A word known only at run time where an option
    may stand is taken as the first operand: the shell's own word splitting cannot be known."""
    command_mode = stdin_mode = False
    i = 0
    while i < len(args):
        word = args[i]
        if is_dynamic(word):
            break
        if word in ("-", "--"):
            i += 1
            break
        if word.startswith("--"):
            i += 2 if word in _LONG_OPTIONS_WITH_VALUE else 1
            continue
        if len(word) < 2 or word[0] not in "-+":
            break
        letters = word[1:]
        if word[0] == "-":
            command_mode = command_mode or "c" in letters
            stdin_mode = stdin_mode or "s" in letters
        i += 1 + sum(letters.count(letter) for letter in _LETTERS_WITH_VALUE)
    operands = tuple(args[i:])
    if command_mode:
        return ShellInvocation(code=operands[0] if operands else None, args=operands[1:])
    if stdin_mode or not operands:
        return ShellInvocation(args=operands, reads_stdin=True)
    return ShellInvocation(script=operands[0], args=operands[1:])
