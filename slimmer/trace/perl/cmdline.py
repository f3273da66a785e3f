"""perl's own command line (`perlrun`): switches, then the program file or `-e` code.

Switches may be bundled (`-wle 'code'`, `-Ilib`, `-MFoo=bar`); `#!` lines give them as one
argument (`#!/usr/bin/perl -w -T` runs `perl "-w -T" SCRIPT`), and `PERL5OPT` adds some.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_TAKES_REST = set("CdDixF")  # the rest of the word is the switch's value, possibly empty
_TAKES_DIGITS = set("0l")  # followed by an optional number, then more switches
_TAKES_VALUE = set("IMmeE")  # the rest of the word, or else the next argument


@dataclass
class PerlCommand:
    include: list[str] = field(default_factory=list)  # -I DIR
    modules: list[str] = field(default_factory=list)  # -M/-m MODULE (without its =args), -d:NAME
    code: list[str] = field(default_factory=list)  # -e/-E lines
    search_path: bool = False  # -S: look the program up in PATH
    taint: bool = False  # -T or -t: ${^TAINT} is true
    program: str | None = None
    args: list[str] = field(default_factory=list)


def parse_perl_args(args: list[str], env_options: str = "") -> PerlCommand:
    """Parse perl's arguments (after argv[0]); `env_options` is PERL5OPT."""
    command = PerlCommand()
    _switches(env_options.split(), command)
    rest = _switches(_split_shebang_words(args), command)
    if not command.code and rest:
        command.program, command.args = rest[0], rest[1:]
    else:
        command.args = rest
    return command


def _split_shebang_words(args: list[str]) -> list[str]:
    """`perl "-w -T" script`: a switch word holding blanks is several switches (the kernel's #! arg)."""
    if args and args[0].startswith("-") and " " in args[0].strip():
        return args[0].split() + args[1:]
    return args


def _switches(words: list[str], command: PerlCommand) -> list[str]:
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return words[i + 1:]
        if not word.startswith("-") or word == "-":
            return words[i:]
        j = 1
        while j < len(word):
            switch = word[j]
            rest = word[j + 1:]
            if switch in _TAKES_VALUE:
                if not rest and i + 1 < len(words):
                    i += 1
                    rest = words[i]
                _value(command, switch, rest)
                break
            if switch in _TAKES_REST:
                if switch == "d" and rest.startswith(":"):
                    command.modules.append("Devel::" + rest[1:].split("=")[0])
                break
            if switch == "S":
                command.search_path = True
            command.taint = command.taint or switch in "Tt"
            j += 1
            if switch in _TAKES_DIGITS:
                digits = "0123456789abcdefABCDEF" if word[j:j + 1] == "x" and switch == "0" else "01234567"
                j += word[j:j + 1] == "x" and switch == "0"
                while j < len(word) and word[j] in digits:
                    j += 1
        i += 1
    return []


def _value(command: PerlCommand, switch: str, value: str) -> None:
    if switch == "I":
        command.include.append(value)
    elif switch in "Mm":
        name, _, args = value.lstrip("-").partition("=")
        name = name.split()[0] if name.strip() else ""
        if name:
            command.modules.append(name)
        if name == "lib" and args:  # -Mlib=DIR,DIR is `use lib`: searched first
            command.include[:0] = args.split(",")
    else:
        command.code.append(value)
