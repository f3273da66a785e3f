"""What `find` prints in the image, from its command line.

Entrypoints find their hooks with `find /docker-entrypoint.d/ -follow -type f -print | sort`
and run `find DIR -exec CMD {} +`. The start points, `-maxdepth`/`-mindepth`, `-L`/`-follow`
and an expression made of `-name`, `-iname`, `-path`, `-type` tests joined by "and" are
evaluated exactly; any other test counts as true, and an expression with `-o`, `!` or
parentheses matches everything, so the result is a superset of what find prints.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.argv import is_dynamic

_OPERATORS = frozenset({"(", ")", "!", "-not", "-o", "-or", ",", "-a", "-and"})
# Words after which find takes values: the tests and actions that have them, and how many.
_VALUES = dict.fromkeys("""
    -amin -anewer -atime -cmin -cnewer -context -ctime -fstype -gid -group -ilname -inum -links -lname
    -mmin -mtime -newer -perm -regex -iregex -regextype -samefile -size -uid -used -user -xtype
    -printf -fprint -fprint0 -fls""".split(), 1) | {"-fprintf": 2}
_PRINTS = frozenset({"-print", "-print0", "-printf", "-ls", "-fprint", "-fprint0", "-fprintf", "-fls"})
_OTHER_ACTIONS = frozenset({"-delete"})  # with the above and -exec: no implied -print (-prune, -quit keep it)
_EXECS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_TYPES = {"f": EntryType.FILE, "d": EntryType.DIR, "l": EntryType.SYMLINK, "p": EntryType.FIFO,
          "c": EntryType.CHAR, "b": EntryType.BLOCK}


@dataclass
class FindCommand:
    """A find command line, as far as what it prints is concerned."""

    starts: list[str] = field(default_factory=list)
    follow: bool = False  # -L, -follow: symlinks are followed everywhere
    min_depth: int = 0
    max_depth: int | None = None
    names: list[tuple[str, bool]] = field(default_factory=list)  # -name / -iname: (pattern, ignore case)
    paths: list[tuple[str, bool]] = field(default_factory=list)  # -path / -ipath / -wholename
    types: list[set[EntryType]] = field(default_factory=list)  # -type f,d
    exact: bool = True  # the expression is a plain "and" of the tests above
    prints: bool = False  # an action that prints the matches (or none at all: -print is implied)
    acts: bool = False  # -delete is given (it does away with the implied -print, as -exec does)
    commands: list[list[str]] = field(default_factory=list)  # -exec ... ; / + command lines, {} kept


def parse_find(args: Sequence[str]) -> FindCommand | None:
    """The find command of `find ARGS`, or None when a word is known only at run time."""
    if any(is_dynamic(a) for a in args):
        return None
    command = FindCommand()
    i = 0
    while i < len(args) and (args[i] in ("-H", "-L", "-P", "-D") or args[i].startswith("-O")):
        command.follow = command.follow or args[i] == "-L"
        i += 2 if args[i] == "-D" else 1
    while i < len(args) and not args[i].startswith("-") and args[i] not in _OPERATORS:
        command.starts.append(args[i])
        i += 1
    command.starts = command.starts or ["."]
    while i < len(args):
        word = args[i]
        value = args[i + 1] if i + 1 < len(args) else ""
        i += 1
        if word in _OPERATORS:
            command.exact = command.exact and word in ("-a", "-and")
        elif word in ("-maxdepth", "-mindepth"):
            i += 1
            if value.isdigit():
                setattr(command, "max_depth" if word == "-maxdepth" else "min_depth", int(value))
        elif word == "-follow":
            command.follow = True
        elif word in ("-name", "-iname"):
            i += 1
            command.names.append((value, word == "-iname"))
        elif word in ("-path", "-ipath", "-wholename", "-iwholename"):
            i += 1
            command.paths.append((value, word.startswith("-i")))
        elif word == "-type":
            i += 1
            command.types.append({_TYPES[t] for t in value.split(",") if t in _TYPES})
        elif word in _EXECS:
            end = i
            while end < len(args) and args[end] not in (";", "+"):
                end += 1
            command.commands.append(list(args[i:end]))
            i = end + 1
        else:
            # other tests narrow the matches: taken as true
            command.prints = command.prints or word in _PRINTS
            command.acts = command.acts or word in _OTHER_ACTIONS
            i += _VALUES.get(word, 0)
    command.prints = command.prints or not (command.acts or command.commands)
    return command


def find_paths(fs: RootFS, command: FindCommand, cwd: str = "/") -> list[str]:
    """The paths the command matches, as find prints them (relative to a relative start)."""
    return [printed for start in command.starts
            for printed, entry, depth in _walk(fs, start, cwd, command.follow, command.max_depth)
            if depth >= command.min_depth and _matches(command, printed, entry)]


def _walk(fs: RootFS, start: str, cwd: str, follow: bool, max_depth: int | None) -> Iterator[tuple[str, Entry, int]]:
    """(printed path, entry, depth) under a start point, depth first in name order."""
    absolute = posixpath.normpath(posixpath.join(cwd, start))
    try:
        entry = fs.lookup(absolute) if follow else fs.resolve(absolute, follow_last=False).entry
    except SymlinkLoopError:
        return
    if entry is None:
        return
    seen: set[str] = set()
    stack = [(start, absolute, entry, 0)]
    while stack:
        printed, path, entry, depth = stack.pop()
        yield printed, entry, depth
        if entry.type is not EntryType.DIR or (max_depth is not None and depth >= max_depth):
            continue
        real = fs.resolve(path).path
        if real in seen:
            continue  # a symlink loop under -L
        seen.add(real)
        children = []
        for name in fs.listdir(real):
            child_path = posixpath.join(real, name)
            child = fs.get(child_path)
            if child is not None and child.type is EntryType.SYMLINK and follow:
                try:
                    child = fs.lookup(child_path) or child
                except SymlinkLoopError:
                    pass
            if child is not None:
                children.append((posixpath.join(printed, name), child_path, child, depth + 1))
        stack.extend(reversed(children))


def _matches(command: FindCommand, printed: str, entry: Entry) -> bool:
    if not command.exact:
        return True
    name = posixpath.basename(printed.rstrip("/")) or printed
    for pattern, fold in command.names:
        if not (fnmatch.fnmatchcase(name.lower(), pattern.lower()) if fold else fnmatch.fnmatchcase(name, pattern)):
            return False
    for pattern, fold in command.paths:
        if not (fnmatch.fnmatchcase(printed.lower(), pattern.lower()) if fold else
                fnmatch.fnmatchcase(printed, pattern)):
            return False
    return all(entry.type in types for types in command.types)


def found_by(fs: RootFS, args: Sequence[str], cwd: str = "/") -> list[str] | None:
    """What `find ARGS` prints in the image, or None when it cannot be told."""
    command = parse_find(args)
    if command is None:
        return None
    return find_paths(fs, command, cwd) if command.prints else []
