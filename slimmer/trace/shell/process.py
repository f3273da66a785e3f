"""One shell process: what every text it runs shares, and what a command line is to it.

A script, the strings it evals and its traps run in one process: one dialect (its builtins),
one Flow (variables and positional parameters), one function table, one set of findings. A
here-document fed to `sh` starts a new process. A command line is, in this order, a keyword
(`time`, `!`), a function, a builtin, or a program: programs are reported with their argv and
left to the tracer, which knows what wrappers, shells and interpreters do with their arguments.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from slimmer.trace.argv import is_dynamic

from .builtin_calls import Builtins
from .dialects import KEYWORDS, SHELL_PROGRAMS, ShellDialect, program_dialect
from .fields import Field
from .files import FileQuery
from .flow import Flow
from .functions import FunctionTable
from .interfaces import HereDocument, Lines, Stdin
from .invocation import parse_shell_args
from .results import Findings, UseKind
from .source import Source
from .statements import Walker
from .values import Positionals, State

MAX_DEPTH = 8  # nesting of eval / here-document strings


class ShellProcess:
    """The parts shared by the texts one shell process runs."""

    def __init__(self, dialect: ShellDialect, state: State, findings: Findings, files: FileQuery,
                 extra_functions: Iterable[str] = ()) -> None:
        self.dialect = dialect
        self.flow = Flow(state)
        self.findings = findings
        self.files = files
        self.functions = FunctionTable(self.flow)
        self.extra_functions = frozenset(extra_functions)  # defined by files the caller sources
        self.builtins = Builtins(self)
        self.stdin: Stdin | None = None  # what the statement being walked reads
        self.depth = 0  # strings run as code (eval, trap, here-documents) around the text being walked

    def run_text(self, text: str, line_offset: int = 0, col_offset: int = 0, quiet_errors: bool = False) -> None:
        """Parse and walk code run by this process (the script, an eval or trap string)."""
        Walker(self, Source(line_offset=line_offset, col_offset=col_offset), quiet_errors).walk(text)

    def run_code(self, code: Field, what: str | None, new_shell: ShellDialect | None = None,
                 positionals: Positionals = None) -> None:
        """Shell code held in a string: eval and trap run it in this process; a here-document fed
        to a shell runs it in a new one (`new_shell`) with `positionals` as its arguments."""
        if self.depth >= MAX_DEPTH:
            self.findings.warn(code.line, f"shell code nested too deeply to analyse: {code.src}")
            return
        text = code.text
        approximate = text is None
        if text is None:
            if what is not None:
                self.findings.warn(code.line, f"{what} of a string built at run time (analysed with its "
                                              f"known parts): {code.src}")
            text = self.findings.with_placeholders(code.pieces)
        if new_shell is None:
            self.depth += 1
            try:
                self.run_text(text, code.line - 1, code.col + 1, approximate)
            finally:
                self.depth -= 1
            return
        state = State(self.flow.state.env, dict(self.flow.state.vars), (positionals,))
        child = ShellProcess(new_shell, state, self.findings, self.files)
        child.depth = self.depth + 1
        child.run_text(text, code.line - 1, code.col + 1, approximate)
        child.functions.call_uncalled()

    def run_lines(self, argvs: list[list[Field]], kind: UseKind) -> None:
        """Every argument list a command's words may give: a function is called once with all of
        them as its possible arguments; anything else is run once per list."""
        names = {argv[0].text for argv in argvs if argv}
        if len(names) == 1:
            (name,) = names
            if name is not None and name in self.functions and all(argv for argv in argvs):
                self.functions.call(name, [argv[1:] for argv in argvs])
                return
        for argv in argvs:
            self.run(argv, kind)

    def run(self, argv: list[Field], kind: UseKind, *, external_only: bool = False,
            bypass_functions: bool = False) -> None:
        """One command line after expansion: a keyword, a function, a builtin or a program."""
        if not argv:
            return
        first = argv[0]
        if first.text is None:
            self.findings.warn(first.line, f"command name built at run time: {first.src}")
            return
        name = first.text
        if not name:
            return
        rest = argv[1:]
        if not external_only:
            if name == "time" and self.dialect is ShellDialect.BASH:
                while rest and rest[0].text in ("-p", "--"):
                    rest = rest[1:]
                self.run(rest, kind)
                return
            if name in KEYWORDS:
                if name == "!" or (name == "coproc" and self.dialect is ShellDialect.BASH):
                    self.run(rest, kind)
                if name != "time":
                    return
            if not bypass_functions:
                if name in self.functions:
                    self.functions.call(name, [rest])
                    return
                if name in self.extra_functions:
                    return
            if name in self.dialect.builtins or name == "source":
                self.builtins.run(name, rest, kind)
                return
        if first.glob:
            return  # a pattern that matched no file names no program
        self.findings.record([f.as_word() for f in argv], first.line, first.col, kind)
        self._shell_reading_stdin(posixpath.basename(name), rest, first)

    def lookup(self, a: Field, via: str) -> None:
        """A name that must resolve in PATH (command -v, type, hash), unless the shell knows it."""
        if a.text is None:
            self.findings.warn(a.line, f"name looked up with {via} built at run time: {a.src}")
            return
        name = a.text
        if not name or name.startswith("-"):
            return
        if name in self.dialect.builtins or name in KEYWORDS or name in self.functions or \
                name in self.extra_functions:
            return
        self.findings.record([name], a.line, a.col, UseKind.LOOKUP)

    def read_path(self, a: Field, kind: UseKind = UseKind.READ) -> None:
        """A path the shell itself opens, tests or writes; known only at run time, it names nothing."""
        if a.text and not a.glob:
            self.findings.record([a.text], a.line, a.col, kind)

    def _shell_reading_stdin(self, base: str, args: list[Field], prog: Field) -> None:
        """`sh <<EOF ... EOF`: a here-document fed to a shell is a script of its own; so are the
        paths a find pipes into it, one command each. (A shell's -c string and script file are
        the tracer's: it sees them in the argv.)"""
        if base == "busybox" and args and args[0].text in SHELL_PROGRAMS:
            base, args = "busybox", args[1:]
        elif base not in SHELL_PROGRAMS:
            return
        invocation = parse_shell_args([a.as_word() for a in args])
        if not invocation.reads_stdin:
            return
        if self.dialect is ShellDialect.BUSYBOX and base in ("sh", "ash"):
            dialect = ShellDialect.BUSYBOX
        else:
            dialect = program_dialect(base, base) or ShellDialect.BASH
        stdin = self.stdin
        if isinstance(stdin, HereDocument):
            if not stdin.static:
                self.findings.warn(stdin.line, f"here-document run by {base} has expansions; analysed as written")
            code = Field.static(stdin.text, stdin.line, stdin.text[:40])
            arguments = (None if is_dynamic(a) else a for a in invocation.args)
            self.run_code(code, None, new_shell=dialect, positionals=(base, *arguments))
        elif isinstance(stdin, Lines):
            for path in stdin.values:  # `find DIR -type f | sh`: each line runs a file
                self.findings.record([path], prog.line, prog.col, UseKind.RUN)
        else:
            self.findings.warn(prog.line, f"{base} reads its commands from standard input; not analysed")
