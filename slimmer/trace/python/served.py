"""Modules that, run with `-m`, serve the files of a directory by the paths of requests: which
files is the clients' input, so the whole directory is data they read (as a web server's root
named in its configuration is). `python -m http.server` serves `--directory`, else the working
directory."""

from __future__ import annotations

import posixpath

# module -> its options naming the directory (argparse style: "-d DIR", "-dDIR", "--directory[=]DIR")
SERVED_DIRECTORY_OPTIONS: dict[str, tuple[str, str]] = {"http.server": ("-d", "--directory")}


def served_directory(module: str, args: list[str], cwd: str) -> str | None:
    """The directory `python -m module ARGS` serves, None for a module that serves none."""
    options = SERVED_DIRECTORY_OPTIONS.get(module)
    if options is None:
        return None
    short, long = options
    directory = cwd
    words = iter(args)
    for word in words:
        if word == "--":
            break
        if word in options:
            directory = next(words, directory)
        elif word.startswith(long + "="):
            directory = word[len(long) + 1:]
        elif word.startswith(short) and not word.startswith("--") and len(word) > len(short):
            directory = word[len(short):]
    return posixpath.normpath(posixpath.join(cwd, directory))
