"""Static analysis of shell scripts: which programs a script runs and which files it sources.

The tracer needs to know, for an entrypoint that is a shell script, which
command names must resolve on the image's PATH and which files the script
reads as code.  This package answers from the script text alone (no I/O): it
reports names as written after expanding the variables it can know, and warns
about every command word it cannot resolve instead of dropping it.

Semantics in short: values come from `env`, plain assignments, `${X:=w}` and
`for` lists, tracked as sets of possible values through branches (an
over-approximation: keeping a file too many is cheaper than missing one).
Function bodies are analysed at their call sites (so `exec "$@"` inside
`_main "$@"` sees the script's arguments) and once more at the end for
functions never called.

Layout: parse.py (tree-sitter-bash, the rewrites for its gaps, and why this
parser), results.py (what is reported), values.py / fields.py / quoting.py
(the value model), builtins.py (builtin and wrapper tables), analyzer.py (the
analyser and analyze_shell) assembled from walker.py (shared state) and one
module per part: control, redirects, functions, assignments, commands,
builtin_calls, programs, words, parameters.
"""

from .analyzer import analyze_shell
from .results import CommandUse, ShellAnalysis, ShellWarning

__all__ = ["CommandUse", "ShellAnalysis", "ShellWarning", "analyze_shell"]
