"""What the builtins a script calls do to the analysis.

Some run, look up or read other code (`.`, exec, command, builtin, eval, trap, type, hash);
some change variables or positional parameters (set, shift, read, getopts, printf -v,
declare/local/export, unset); some name paths the shell itself tests or enters (test, [, cd).
The rest (echo, true, ...) need nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from slimmer.trace.argv import Piece

from .fields import Field
from .interfaces import Lines, Shell
from .results import UseKind
from .values import ASSIGNMENT, MAX_LIST_VALUES, UNSET, VARIABLE_NAME

# test's operators whose operand is a file (the one after it), and those between two files.
FILE_TESTS = frozenset("-a -b -c -d -e -f -g -G -h -k -L -N -O -p -r -s -S -u -w -x".split())
FILE_COMPARISONS = frozenset({"-nt", "-ot", "-ef"})
_READ_OPTIONS_WITH_VALUE = frozenset({"-d", "-n", "-N", "-p", "-t", "-u", "-i", "-C", "-c", "-O", "-s"})


class Builtins:
    """The builtins of the shell process `shell`."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self._handlers: dict[str, Callable[[list[Field], UseKind], None]] = {
            ".": self._source, "source": self._source,
            "exec": self._exec,
            "command": self._command,
            "builtin": self._builtin,
            "eval": self._eval,
            "trap": self._trap,
            "type": self._type,
            "hash": self._hash,
            "test": self._test, "[": self._test, "[[": self._test,
            "cd": self._cd, "pushd": self._cd,
            "set": self._set,
            "shift": self._shift,
            "read": self._read, "mapfile": self._mapfile, "readarray": self._mapfile,
            "getopts": self._getopts,
            "printf": self._printf,
            "local": self._declare, "export": self._declare, "declare": self._declare,
            "typeset": self._declare, "readonly": self._declare,
            "unset": self._unset,
        }

    def run(self, name: str, args: list[Field], kind: UseKind) -> None:
        handler = self._handlers.get(name)
        if handler is not None:
            handler(args, kind)

    # -- builtins that run, look up or read code --

    def _source(self, args: list[Field], kind: UseKind) -> None:
        """. FILE / source FILE: the file is read as code."""
        if args and args[0].text == "--":
            args = args[1:]
        if not args:
            return
        a = args[0]
        if a.text is None:
            self.shell.findings.warn(a.line, f"sourced file name built at run time: {a.src}")
        elif a.text and not a.glob:
            self.shell.findings.record([a.text], a.line, a.col, UseKind.SOURCE)

    def _exec(self, args: list[Field], kind: UseKind) -> None:
        """exec [-cl] [-a NAME] COMMAND: replaces the shell, so only a program can run."""
        i = 0
        while i < len(args) and args[i].text in ("-a", "-c", "-l", "-cl", "-lc", "--"):
            if args[i].text == "--":
                i += 1
                break
            i += 2 if args[i].text == "-a" else 1
        self.shell.run(args[i:], UseKind.EXEC, external_only=True)

    def _command(self, args: list[Field], kind: UseKind) -> None:
        """command -v NAME looks NAME up; command NAME runs it, bypassing functions."""
        i = 0
        lookup = False
        while i < len(args) and (option := args[i].text) and option.startswith("-") and len(option) > 1:
            i += 1
            if option == "--":
                break
            lookup = lookup or "v" in option or "V" in option
        if lookup:
            for a in args[i:]:
                self.shell.lookup(a, "command -v")
        else:
            self.shell.run(args[i:], kind, bypass_functions=True)

    def _builtin(self, args: list[Field], kind: UseKind) -> None:
        if args and args[0].text in self.shell.dialect.builtins:
            self.run(args[0].text, args[1:], kind)

    def _eval(self, args: list[Field], kind: UseKind) -> None:
        """eval ARGS: the arguments joined by spaces are code, run in the current shell."""
        if not args:
            return
        texts = [a.text for a in args]
        pieces = []
        for k, a in enumerate(args):
            if k:
                pieces.append(Piece(" ", " "))
            pieces.extend(a.pieces)
        sources: list[str] = []
        for a in args:
            if not sources or sources[-1] != a.src:  # one word split in many fields
                sources.append(a.src)
        text = " ".join(t for t in texts if t is not None) if None not in texts else None
        joined = Field(text, tuple(pieces), False, " ".join(sources), args[0].line, args[0].col)
        self.shell.run_code(joined, "eval")

    def _trap(self, args: list[Field], kind: UseKind) -> None:
        """trap CODE SIGNAL...: CODE may run at any time; analysed where the trap is set."""
        if args and args[0].text == "--":
            args = args[1:]
        if len(args) < 2:
            return  # trap -p, trap -l, trap SIG (reset)
        a = args[0]
        if a.text is not None and (a.text in ("", "-") or a.text.isdigit()):
            return
        self.shell.run_code(a, None)

    def _type(self, args: list[Field], kind: UseKind) -> None:
        for a in args:
            if a.text is None or not a.text.startswith("-"):
                self.shell.lookup(a, "type")

    def _hash(self, args: list[Field], kind: UseKind) -> None:
        """hash NAME...: each NAME must resolve in PATH."""
        i = 0
        while i < len(args) and (option := args[i].text) and option.startswith("-"):
            if option in ("-p", "-d", "-t", "-l", "-r"):
                return  # these forms set, forget or print entries
            i += 1
        for a in args[i:]:
            self.shell.lookup(a, "hash")

    # -- builtins that name paths --

    def _test(self, args: list[Field], kind: UseKind) -> None:
        """test -f FILE, [ -d DIR ], [ A -nt B ]: the shell stats those paths."""
        for i, a in enumerate(args):
            if a.text in FILE_TESTS and i + 1 < len(args):
                self.shell.read_path(args[i + 1])
            elif a.text in FILE_COMPARISONS and 0 < i < len(args) - 1:
                self.shell.read_path(args[i - 1])
                self.shell.read_path(args[i + 1])

    def _cd(self, args: list[Field], kind: UseKind) -> None:
        operands = [a for a in args if not (a.text or "").startswith("-")]
        if operands:
            self.shell.read_path(operands[0])

    # -- builtins that set variables or positional parameters --

    def _set(self, args: list[Field], kind: UseKind) -> None:
        """set [options] [--] ARGS: ARGS replace the positional parameters; options alone do not."""
        state = self.shell.flow.state
        i = 0
        new_positionals = False
        while i < len(args):
            t = args[i].text
            if t is None:
                state.pos = (None,)
                return
            if t == "--":
                i += 1
                new_positionals = True
                break
            if t.startswith(("-", "+")) and len(t) > 1:
                i += 1 + t[1:].count("o")  # -o NAME, -eo NAME
                continue
            new_positionals = True
            break
        if not new_positionals:
            return
        rest = tuple(a.as_value() for a in args[i:])
        state.pos = tuple(dict.fromkeys((p[0] if p else None, *rest) if p is not None else (state.name, *rest)
                                        for p in state.pos))

    def _shift(self, args: list[Field], kind: UseKind) -> None:
        """shift [N]: drops positional parameters."""
        state = self.shell.flow.state
        n = 1
        if args and args[0].text is not None and args[0].text.isdigit():
            n = int(args[0].text)
        elif args:
            state.pos = (None,)
            return
        state.pos = tuple(dict.fromkeys(None if p is None else (p[:1] + p[1 + n:]) for p in state.pos))

    def _read(self, args: list[Field], kind: UseKind) -> None:
        """read NAME...: run-time values, except one name reading a pipe of known paths."""
        names = _variable_operands(args) or ["REPLY"]
        stdin = self.shell.stdin
        if isinstance(stdin, Lines) and len(names) == 1 and VARIABLE_NAME.match(names[0]):
            self.shell.flow.state.set(names[0], stdin.values, limit=MAX_LIST_VALUES)
            return
        self._unknown(names)

    def _mapfile(self, args: list[Field], kind: UseKind) -> None:
        self._unknown(_variable_operands(args) or ["MAPFILE"])

    def _getopts(self, args: list[Field], kind: UseKind) -> None:
        if len(args) >= 2 and args[1].text:
            self._unknown([args[1].text])

    def _printf(self, args: list[Field], kind: UseKind) -> None:
        """printf -v NAME: NAME gets run-time text."""
        self._unknown([args[i + 1].text or "" for i, a in enumerate(args[:-1]) if a.text == "-v"])

    def _unknown(self, names: list[str]) -> None:
        for name in names:
            if VARIABLE_NAME.match(name):
                self.shell.flow.state.set(name, {None})

    def _declare(self, args: list[Field], kind: UseKind) -> None:
        """local/export/declare/typeset/readonly NAME=value, when not parsed as a declaration."""
        for a in args:
            m = ASSIGNMENT.match(a.text) if a.text is not None else None
            if m:
                self.shell.flow.state.set(m.group(1), {m.group(3)})

    def _unset(self, args: list[Field], kind: UseKind) -> None:
        """unset NAME, when not parsed as an unset command (`builtin unset`)."""
        for a in args:
            if a.text is not None and VARIABLE_NAME.match(a.text):
                self.shell.flow.state.set(a.text, {UNSET})



def _variable_operands(args: list[Field]) -> list[str]:
    """The names read, mapfile and readarray set: their operands after the options."""
    names: list[str] = []
    skip_next = False
    for a in args:
        if skip_next:
            skip_next = False
        elif a.text is not None and a.text.startswith("-"):
            skip_next = a.text in _READ_OPTIONS_WITH_VALUE  # `read -a NAME`: NAME is kept
        elif a.text is not None:
            names.append(a.text)
    return names
