"""Shell dialects: which names a shell runs itself, and which programs are shells.

Builtins decide what is *not* an external program: a name the shell runs itself needs no
file in the image. The sets are per dialect because they differ (`source`, `declare`, `let`
are bash/ash only; dash has none of them). They were taken from `compgen -b` (bash 5.2),
`type NAME` under dash 0.5.12 and busybox's ash.c builtin table (1.36, default config).
"""

from __future__ import annotations

from enum import Enum


class ShellDialect(str, Enum):
    """The shells whose builtins the analysis knows; other shells are read as the closest one."""

    BASH = "bash"
    DASH = "dash"
    BUSYBOX = "busybox"  # busybox's ash

    @property
    def builtins(self) -> frozenset[str]:
        return BUILTINS[self]


BASH_BUILTINS: frozenset[str] = frozenset(
    """
    . : [ alias bg bind break builtin caller cd command compgen complete compopt
    continue declare dirs disown echo enable eval exec exit export false fc fg
    getopts hash help history jobs kill let local logout mapfile popd printf pushd
    pwd read readarray readonly return set shift shopt source suspend test times
    trap true type typeset ulimit umask unalias unset wait
    """.split()
)

DASH_BUILTINS: frozenset[str] = frozenset(
    """
    . : [ alias bg break cd chdir command continue echo eval exec exit export
    false fg getopts hash jobs kill local printf pwd read readonly return set
    shift test times trap true type ulimit umask unalias unset wait
    """.split()
)

BUSYBOX_ASH_BUILTINS: frozenset[str] = frozenset(
    """
    . : [ [[ alias bg break cd chdir command continue echo eval exec exit export
    false fg getopts hash help history jobs kill let local printf pwd read
    readonly return set shift source test times trap true type ulimit umask
    unalias unset wait
    """.split()
)

BUILTINS: dict[ShellDialect, frozenset[str]] = {
    ShellDialect.BASH: BASH_BUILTINS,
    ShellDialect.DASH: DASH_BUILTINS,
    ShellDialect.BUSYBOX: BUSYBOX_ASH_BUILTINS,
}

# Reserved words. tree-sitter turns most into syntax, but after a parse error they can show
# up where a command name stands; they are never programs.
KEYWORDS: frozenset[str] = frozenset(
    "if then else elif fi case esac for select while until do done in function "
    "time { } ! [[ ]] coproc ;; ( )".split()
)

# Programs that are shells, with the dialect they are read as. `sh` is dash, as /bin/sh is on
# Debian-based images; when the program really run is busybox, `sh` and `ash` are its ash.
SHELL_PROGRAMS: dict[str, ShellDialect] = {
    "sh": ShellDialect.DASH,
    "dash": ShellDialect.DASH,
    "posh": ShellDialect.DASH,
    "yash": ShellDialect.DASH,
    "bash": ShellDialect.BASH,
    "rbash": ShellDialect.BASH,
    "ksh": ShellDialect.BASH,
    "mksh": ShellDialect.BASH,
    "pdksh": ShellDialect.BASH,
    "zsh": ShellDialect.BASH,
    "ash": ShellDialect.BUSYBOX,
}


def dialect_named(name: str) -> ShellDialect | None:
    """A dialect by a shell's name ("sh", "bash", ...), or by its own name ("busybox", "posix")."""
    if name == "posix":
        return ShellDialect.DASH
    try:
        return ShellDialect(name)
    except ValueError:
        return SHELL_PROGRAMS.get(name)


def program_dialect(called_as: str, real_name: str) -> ShellDialect | None:
    """The dialect of a shell program called by `called_as` whose file is named `real_name`:
    busybox's applets are all its ash, whatever name they are called by."""
    if real_name == "busybox":
        return ShellDialect.BUSYBOX
    return SHELL_PROGRAMS.get(called_as) or SHELL_PROGRAMS.get(real_name)
