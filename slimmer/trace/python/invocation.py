"""A `python` command line as CPython reads it: the flags that change where modules come from,
then what runs (a script, `-m module`, `-c code`, or nothing to trace)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Flags that take a value (attached, `-Wignore`, or as the next word).
_WITH_VALUE = frozenset("WXcm")
# Long options that end the interpreter's work at once.
_INFORMATIONAL = frozenset({"--version", "--help", "--help-env", "--help-xoptions", "--help-all", "-V", "-h", "-?"})


@dataclass(frozen=True)
class Invocation:
    """What `python [flags] (SCRIPT | -m MODULE | -c CODE) ARGS...` asks for."""

    flags: frozenset[str] = frozenset()  # single letters: "I", "S", "E", "s", "P", "B", "O", ...
    optimize: int = 0  # -O count: selects the `.opt-N.pyc` caches
    xoptions: tuple[str, ...] = ()
    script: str | None = None  # a path, "-" for stdin
    module: str | None = None
    code: str | None = None
    args: list[str] = field(default_factory=list)  # what follows the script, module or code

    @property
    def isolated(self) -> bool:
        return "I" in self.flags

    @property
    def ignore_environment(self) -> bool:
        return "E" in self.flags or self.isolated

    @property
    def no_site(self) -> bool:
        return "S" in self.flags

    @property
    def no_user_site(self) -> bool:
        return "s" in self.flags or self.isolated

    @property
    def safe_path(self) -> bool:
        return "P" in self.flags or self.isolated


def parse_invocation(args: list[str]) -> Invocation | None:
    """The interpreter's options up to the first operand; None when it only prints and exits."""
    flags: set[str] = set()
    optimize = 0
    xoptions: list[str] = []
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word in _INFORMATIONAL:
            return None
        if word == "--":
            break
        if word.startswith("--check-hash-based-pycs"):
            if "=" not in word and rest:
                rest.pop(0)
            continue
        if not word.startswith("-") or word == "-":
            return Invocation(frozenset(flags), optimize, tuple(xoptions), script=word, args=rest)
        letters = word[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter not in _WITH_VALUE:
                flags.add(letter)
                optimize += letter == "O"
                continue
            value = letters or (rest.pop(0) if rest else "")
            letters = ""
            if letter == "c":
                return Invocation(frozenset(flags), optimize, tuple(xoptions), code=value, args=rest)
            if letter == "m":
                return Invocation(frozenset(flags), optimize, tuple(xoptions), module=value, args=rest)
            if letter == "X":
                xoptions.append(value)
    if rest:
        return Invocation(frozenset(flags), optimize, tuple(xoptions), script=rest[0], args=rest[1:])
    return Invocation(frozenset(flags), optimize, tuple(xoptions))  # interactive: only the start-up
