"""The entry point of the shell analysis: analyze_shell."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from slimmer.trace.argv import DynamicWord, is_dynamic

from .dialects import ShellDialect, dialect_named
from .files import FileQuery, NoFiles
from .process import ShellProcess
from .results import Findings, ShellAnalysis
from .values import Positionals, State


def analyze_shell(
    text: str,
    env: Mapping[str, str] | None = None,
    shell: str = "bash",
    *,
    argvs: Sequence[Sequence[str]] | None = None,
    functions: Iterable[str] = (),
    files: FileQuery | None = None,
) -> ShellAnalysis:
    """Analyse a shell script's text (a DynamicWord: the code a string built at run time may
    hold, analysed with its known parts); never raises on bad input, warns instead.

    env: variables known from the image (ENV, and anything the caller knows).
    shell: the dialect or the shell's name ("bash", "sh"/"dash", "busybox"/"ash", ...).
    argvs: every ($0, $1, ...) the script is run with, when known (entrypoint plus CMD), so
    that `exec "$@"` resolves; a DynamicWord in one makes that one unknown. Unknown when None.
    functions: names defined elsewhere (by files the script sources) that are therefore not
    external commands.
    files: the image's files, for globs and `find` (by default none: only the text is known).
    """
    findings = Findings()
    dialect = dialect_named(shell)
    if dialect is None:
        findings.warn(1, f"unknown shell {shell!r}; assuming bash builtins")
        dialect = ShellDialect.BASH
    names = {argv[0] for argv in argvs or () if argv and not is_dynamic(argv[0])}
    state = State(dict(env or {}), {}, _positionals(argvs), names.pop() if len(names) == 1 else None)
    process = ShellProcess(dialect, state, findings, files or NoFiles(), functions)
    try:
        if isinstance(text, DynamicWord):  # code built at run time: its known parts
            process.run_text(findings.with_placeholders(text.pieces), quiet_errors=True)
        else:
            process.run_text(text)
        process.functions.call_uncalled()
    except RecursionError:
        findings.warn(1, "script nested too deeply to analyse fully; results are partial")
    final = process.flow.state
    variables = []
    for name in sorted(final.vars):
        values = final.vars[name]
        if len(values) == 1 and isinstance(values[0], str):
            variables.append((name, values[0]))
    uses, warnings = findings.result()
    return ShellAnalysis(uses=uses, warnings=warnings, functions=tuple(process.functions.order),
                         variables=tuple(variables))


def _positionals(argvs: Sequence[Sequence[str]] | None) -> tuple[Positionals, ...]:
    if not argvs:
        return (None,)
    return tuple(dict.fromkeys(None if any(is_dynamic(w) for w in argv) else tuple(argv) for argv in argvs))
