"""Paths named by a command's arguments: `cat F`, `chown -R app DIR`, `app --config=conf.yml`.

Whatever the program, an argument that names an existing file is kept (the program reads it,
or writes it where it is), and one that names an existing directory keeps that directory with
its owner and mode (`mkdir -p`, `chown`, `[ -d ]` find it as it was). A directory's entries
are kept too when the program lists or copies it: `ls` its entries, `cp -r`, `du` and `tar`
everything under it. Words that are options are skipped; `--opt=VALUE` counts with its VALUE.
The virtual filesystems a container mounts (/proc, /sys, /dev) are never the image's.
Operands are kept as data: a program that runs or loads one (a wrapper, a shell, an
interpreter) has a handler that says so (slimmer.trace.programs), so `md5sum /usr/bin/x` keeps
x but not what x would load.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Literal

from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.argv import is_dynamic
from slimmer.trace.closure import Need
from slimmer.trace.namedfiles import is_virtual

Listing = Literal["entries", "recursive"] | None


def _short(args: list[str], letters: str) -> bool:
    """Whether a short option cluster (`-la`) among the options holds one of `letters`."""
    return any(a.startswith("-") and not a.startswith("--") and set(a[1:]) & set(letters) for a in args)


def _ls(args: list[str], index: int) -> Listing:
    if "--directory" in args or _short(args, "d"):
        return None
    return "recursive" if "--recursive" in args or _short(args, "R") else "entries"


def _cp(args: list[str], index: int) -> Listing:
    destination = max(i for i, a in enumerate(args) if not a.startswith("-"))
    recursive = "--recursive" in args or "--archive" in args or _short(args, "rRa")
    return "recursive" if recursive and index != destination else None


def _tar(args: list[str], index: int) -> Listing:
    first = args[0] if args[0].startswith("-") else "-" + args[0]  # `tar czf ...`: options without a dash
    creating = "--create" in args or "--append" in args or _short([first, *args[1:]], "cr")
    return "recursive" if creating and index > 0 else None


# Programs whose result depends on what is inside a directory operand: each says, from the
# arguments and the operand's index among them, whether it reads the directory's entries,
# everything under it, or nothing more than the directory.
DIRECTORY_READERS: dict[str, Callable[[list[str], int], Listing]] = {
    "ls": _ls,
    "cp": _cp,
    "du": lambda args, index: "recursive",
    "tar": _tar,
}


def operand_needs(fs: RootFS, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """The existing paths the arguments of `argv` name (argv[0] is the program)."""
    program = posixpath.basename(argv[0])
    reader = DIRECTORY_READERS.get(program)
    args = argv[1:]
    if program in ("ls", "du") and all(a.startswith("-") for a in args):
        args = [*args, "."]  # they read the working directory
    found: list[Need] = []
    for index, word in enumerate(args):
        if is_dynamic(word):
            continue
        for candidate in (word, word.partition("=")[2]):
            path = existing_path(fs, candidate, cwd) if candidate and not candidate.startswith("-") else None
            if path is None:
                continue
            why = f"argument {index + 1} of {program} ({reason})"
            found.append(Need(path, why, optional=True, data=True))
            listing = reader(args, index) if reader is not None and candidate == word else None
            listed = f"in {path}, listed by {program} ({reason})"
            if listing == "recursive":
                found.append(Need(path, listed, recursive=True, optional=True, data=True))
            elif listing == "entries":
                found += [Need(posixpath.join(path, name), listed, optional=True, data=True)
                          for name in fs.listdir(path)]
    return found


def existing_path(fs: RootFS, word: str, cwd: str) -> str | None:
    """The normalised path of an existing file or directory (not `/` itself, not a virtual one)."""
    path = posixpath.normpath(posixpath.join(cwd, word))
    if path == "/" or is_virtual(path):
        return None
    try:
        entry = fs.lookup(path)
    except SymlinkLoopError:
        return None  # the program cannot open it either
    if entry is None or not (entry.is_file or entry.is_dir):
        return None
    return path
