"""Static analysis of shell scripts: the command lines a script runs, the files it reads as
code, and the paths it opens itself.

The tracer needs to know, for an entrypoint that is a shell script, which command lines it
runs, which files it reads as code and which paths it tests or opens. This package answers
from the script text alone (asking a FileQuery for the files globs and `find` name): it
reports every program's argv after expanding the variables it can know, and warns about
every command name it cannot resolve instead of dropping it. What a program does with its
arguments (a wrapper's command, a shell's -c string) is the tracer's business.

Semantics in short: values come from `env`, plain assignments, `${X:=w}`, `for` lists and
the paths a `find` pipes into `while read`, tracked as sets of possible values through
branches (an over-approximation: keeping a file too many is cheaper than missing one).
Function bodies are analysed at their call sites (so `exec "$@"` inside `_main "$@"` sees the
script's arguments) and once more at the end for functions never called.

Layout, one part per module: parse.py (tree-sitter-bash, the rewrites for its gaps, and why
this parser); values.py, fields.py, quoting.py (the value model); dialects.py (builtins per
shell, which programs are shells); invocation.py (a shell's own command line, shared with the
tracer); results.py (what is reported); files.py (what the analysis asks about the image).
The analyser: process.py (one shell process: dispatches a command line to a function, a
builtin or a program) with its parts flow.py (the state of the path walked), functions.py
(the function table), builtin_calls.py (what builtins do); statements.py (the walker of one
text and its control flow) with commands.py (simple commands, assignments, redirections),
expansion.py and parameters.py (words), conditions.py (string tests, case patterns).
interfaces.py is what the parts ask of the process.
"""

from slimmer.trace.shell.analyzer import analyze_shell
from slimmer.trace.shell.dialects import SHELL_PROGRAMS, ShellDialect, program_dialect
from slimmer.trace.shell.files import FileQuery
from slimmer.trace.shell.invocation import ShellInvocation, parse_shell_args
from slimmer.trace.shell.results import CommandUse, ShellAnalysis, ShellWarning, UseKind

__all__ = [
    "SHELL_PROGRAMS",
    "CommandUse",
    "FileQuery",
    "ShellAnalysis",
    "ShellDialect",
    "ShellInvocation",
    "ShellWarning",
    "UseKind",
    "analyze_shell",
    "parse_shell_args",
    "program_dialect",
]
