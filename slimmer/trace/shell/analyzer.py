"""The shell analyser assembled from its parts, and its entry point analyze_shell.

One Analyzer walks one text: the script, or a string it runs as code (eval,
trap, sh -c), which gets an Analyzer of its own sharing the Findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from tree_sitter import Node

from .assignments import Assignments
from .builtin_calls import BuiltinCalls
from .builtins import SHELL_ALIASES
from .commands import Commands
from .control import ControlFlow
from .fields import Field
from .functions import FunctionCalls
from .parameters import Parameters
from .parse import parse
from .programs import Programs
from .redirects import Redirects
from .results import Findings, ShellAnalysis
from .values import Positionals, State
from .words import Words

_MAX_DEPTH = 8  # nesting of eval / sh -c strings


def analyze_shell(
    text: str,
    env: Mapping[str, str] = {},
    shell: str = "bash",
    *,
    argv: Sequence[str] | None = None,
    functions: Iterable[str] = (),
) -> ShellAnalysis:
    """Analyse a shell script's text; never raises on bad input, warns instead.

    env: variables known from the image (ENV, and anything the caller knows).
    shell: "bash", "sh"/"dash" or "busybox"/"ash": selects the builtins.
    argv: the script's $0, $1, ... when known (entrypoint plus CMD), so that
    `exec "$@"` resolves; unknown when None.
    functions: names defined elsewhere (by files the script sources) that are
    therefore not external commands.
    """
    findings = Findings()
    canon = SHELL_ALIASES.get(shell)
    if canon is None:
        findings.warn(1, f"unknown shell {shell!r}; assuming bash builtins")
        canon = "bash"
    pos: tuple[Positionals, ...] = (None,) if argv is None else (tuple(argv),)
    state = State(dict(env), {}, pos)
    analyzer = Analyzer(findings, canon, state, set(functions), 0, 0)
    try:
        analyzer.run_text(text)
        analyzer.finish()
    except RecursionError:
        findings.warn(1, "script nested too deeply to analyse fully; results are partial")
    variables = []
    for name in sorted(analyzer.state.vars):
        vals = analyzer.state.vars[name]
        if len(vals) == 1:
            (v,) = vals
            if isinstance(v, str):
                variables.append((name, v))
    commands, warnings = findings.result()
    return ShellAnalysis(
        commands=commands,
        warnings=warnings,
        functions=tuple(analyzer.funcs.order),
        variables=tuple(variables),
    )


class Analyzer(ControlFlow, Redirects, FunctionCalls, Assignments, Commands, BuiltinCalls, Programs, Words,
               Parameters):
    """Walks one parsed text (the script, or an eval / sh -c string)."""

    def _statement_handlers(self) -> dict[str, Callable[[Node], None]]:
        """Which part of the analyser walks each kind of statement node."""
        return {
            "program": self._seq,
            "compound_statement": self._seq,
            "do_group": self._seq,
            "negated_command": self._seq,
            "variable_assignments": self._seq,
            "list": self._list,
            "pipeline": self._pipeline,
            "redirected_statement": self._redirected,
            "command": self._command,
            "variable_assignment": self._assign_stmt,
            "declaration_command": self._declaration,
            "unset_command": self._unset,
            "function_definition": self._function_def,
            "if_statement": self._if,
            "case_statement": self._case,
            "for_statement": self._for,
            "c_style_for_statement": self._c_style_for,
            "while_statement": self._while,
            "subshell": self._subshell,
            "comment": self._nothing,
            "ERROR": self._error,
            "file_redirect": self._redirect,
            "heredoc_redirect": self._redirect,
            "herestring_redirect": self._redirect,
        }

    def run_text(self, text: str) -> None:
        """Parse and walk `text`, after collecting its function definitions."""
        data = text.encode("utf-8", "surrogateescape")
        roots, data = parse(data)
        self.src = data
        for root in roots:
            if root.has_error and not self.quiet_parse_errors:
                self._report_errors(root)
            self._collect_functions(root)
        for root in roots:
            self._stmt(root)

    def _report_errors(self, root: Node) -> None:
        """Warn with the lines tree-sitter could not parse: commands there are a guess."""
        stack = [root]
        while stack:
            n = stack.pop()
            if n.is_missing:
                self.findings.warn(self.line(n), f"syntax error: missing {n.type!r}; parsed around it")
            elif n.type == "ERROR":
                a = self.line(n)
                b = n.end_point[0] + 1 + self.line_offset
                self.findings.warn(a, f"could not parse lines {a}-{b}; commands found there are a best guess")
            elif n.has_error:
                stack.extend(reversed(n.children))

    def _analyse_string(self, code: Field, shell: str, same_state: bool, what: str | None,
                        pos: tuple | None = None) -> None:
        """Analyse shell code held in a string (eval, sh -c, trap, su -c).

        same_state: the code runs in this shell (eval, trap) and shares its
        variables and functions; otherwise it is a new shell (sh -c, su -c)
        with `pos` as its arguments.
        """
        if self.depth >= _MAX_DEPTH:
            self.findings.warn(code.line, f"shell code nested too deeply to analyse: {code.src}")
            return
        text = code.text
        approximate = text is None
        if text is None:
            if what is not None:
                self.findings.warn(code.line, f"{what} of a string built at run time (analysed with its "
                                              f"known parts): {code.src}")
            # run-time parts become variables nobody sets, so the inner
            # analysis warns about them where they matter (by their text)
            text = "".join(t if t is not None else self.findings.placeholder(raw) for t, raw in code.pieces)
        if same_state:
            sub = Analyzer(self.findings, shell, self.state, self.extra_functions, code.line - 1,
                           self.depth + 1, col_offset=code.col + 1, funcs=self.funcs)
            sub.quiet_parse_errors = approximate
            sub.run_text(text)
            self.state = sub.state
        else:
            st = State(self.state.env, dict(self.state.vars), pos or (None,))
            sub = Analyzer(self.findings, shell, st, set(), code.line - 1, self.depth + 1, col_offset=code.col + 1)
            sub.quiet_parse_errors = approximate
            sub.run_text(text)
            sub.finish()
