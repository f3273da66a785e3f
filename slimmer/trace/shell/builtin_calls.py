"""Builtins that run, look up or read other code.

These are . / source, exec, command, builtin, eval, trap, type and hash;
builtins that only set variables are in assignments.py.
"""

from __future__ import annotations

from .fields import Field
from .walker import Walker


class BuiltinCalls(Walker):
    """What the analyser does when a script calls a builtin."""

    def _builtin(self, name: str, args: list[Field], how: str) -> None:
        """A builtin: those that run, look up or source commands, or change variables, matter."""
        if name in (".", "source"):
            self._source(args)
        elif name == "exec":
            self._exec(args)
        elif name == "command":
            self._command_builtin(args, how)
        elif name == "builtin":
            if args and args[0].text in self.builtins:
                self._builtin(args[0].text, args[1:], how)
        elif name == "eval":
            self._eval(args)
        elif name == "type":
            for a in args:
                if a.text is None or not a.text.startswith("-"):
                    self._lookup(a, "type")
        elif name == "hash":
            self._hash(args)
        elif name == "trap":
            self._trap(args)
        elif name == "set":
            self._set_builtin(args)
        elif name == "shift":
            self._shift(args)
        elif name in ("read", "getopts", "mapfile", "readarray", "printf"):
            self._builtin_sets_vars(name, args)
        elif name in ("local", "export", "declare", "typeset", "readonly"):
            self._declare_builtin(args)
        elif name == "unset":
            self._unset_builtin(args)

    def _source(self, args: list[Field]) -> None:
        """. FILE / source FILE: the file is read as code."""
        if args and args[0].text == "--":
            args = args[1:]
        if args:
            a = args[0]
            if a.text is None:
                self.findings.warn(a.line, f"sourced file name built at run time: {a.src}")
            elif a.text:
                self.record(a, "source")

    def _exec(self, args: list[Field]) -> None:
        """exec [-cl] [-a NAME] COMMAND: replaces the shell, so only a program can run."""
        i = 0
        while i < len(args) and args[i].text in ("-a", "-c", "-l", "-cl", "-lc", "--"):
            if args[i].text == "--":
                i += 1
                break
            i += 2 if args[i].text == "-a" else 1
        self._run(args[i:], "exec", external_only=True)

    def _command_builtin(self, args: list[Field], how: str) -> None:
        """command -v NAME looks NAME up; command NAME runs it, bypassing functions."""
        i = 0
        lookup = False
        while i < len(args) and args[i].text and args[i].text.startswith("-") and len(args[i].text) > 1:
            if args[i].text == "--":
                i += 1
                break
            if "v" in args[i].text or "V" in args[i].text:
                lookup = True
            i += 1
        if lookup:
            for a in args[i:]:
                self._lookup(a, "command -v")
        else:
            self._run(args[i:], how, bypass_functions=True)

    def _hash(self, args: list[Field]) -> None:
        """hash NAME...: each NAME must resolve on PATH."""
        i = 0
        while i < len(args) and args[i].text and args[i].text.startswith("-"):
            if args[i].text in ("-p", "-d", "-t", "-l", "-r"):
                return  # these forms set, forget or print entries
            i += 1
        for a in args[i:]:
            self._lookup(a, "hash")

    def _trap(self, args: list[Field]) -> None:
        """trap CODE SIGNAL...: CODE may run at any time; analysed where the trap is set."""
        if args and args[0].text == "--":
            args = args[1:]
        if len(args) < 2:
            return  # trap -p, trap -l, trap SIG (reset)
        a = args[0]
        if a.text is not None and (a.text in ("", "-") or a.text.isdigit()):
            return
        self._analyse_string(a, self.shell, same_state=True, what=None)

    def _eval(self, args: list[Field]) -> None:
        """eval ARGS: the arguments joined by spaces are code, run in the current shell."""
        if not args:
            return
        static = all(a.text is not None for a in args)
        pieces: list[tuple[str | None, str]] = []
        for k, a in enumerate(args):
            if k:
                pieces.append((" ", " "))
            pieces.extend(a.pieces)
        text = " ".join(a.text for a in args) if static else None  # type: ignore[misc]
        srcs: list[str] = []
        for a in args:
            if not srcs or srcs[-1] != a.src:  # one word split in many fields
                srcs.append(a.src)
        src = " ".join(srcs)
        joined = Field(text, tuple(pieces), False, src, args[0].line, args[0].col)
        self._analyse_string(joined, self.shell, same_state=True, what="eval")
