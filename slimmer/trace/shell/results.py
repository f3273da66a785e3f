"""What the analysis reports: the commands a script needs and what it could not resolve."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandUse:
    """A program or file the script needs; the tracer resolves `name` against the image.

    how: "run" (executed as a command), "exec" (replaces the shell via `exec`),
    "lookup" (`command -v`, `which`, `type`, `hash`: the name must resolve on
    PATH), "source" (`. file` / `source file`: a path, or a name the shell
    searches on PATH), "script" (a file given to a shell, `sh FILE`: relative
    to the working directory; bash also tries PATH).
    glob: the name holds unquoted `*`, `?` or `[` and is a pattern to match
    against the image's files, as in `for f in /docker-entrypoint.d/*.sh`.
    """

    name: str
    line: int
    how: str
    glob: bool = False


@dataclass(frozen=True)
class ShellWarning:
    """Something the analysis could not resolve; the tracer should surface it."""

    line: int
    message: str


@dataclass(frozen=True)
class ShellAnalysis:
    """What a script needs, with what could not be resolved.

    functions: names the script defines (pass them as `functions=` when
    analysing a script that sources this one).  variables: variables with a
    single known value at the end of the script (pass them as `env=` likewise).
    """

    commands: tuple[CommandUse, ...]
    warnings: tuple[ShellWarning, ...]
    functions: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()


_PLACEHOLDER = re.compile(r"\$\{?(__slimmer_dyn[0-9]+)\}?")  # see Findings.placeholder


class Findings:
    """Results shared by a script and the strings it evaluates (eval, sh -c)."""

    def __init__(self) -> None:
        # (name, how) -> ((line, column) of its first use, order found, the use)
        self._uses: dict[tuple[str, str], tuple[tuple[int, int], int, CommandUse]] = {}
        self._warnings: list[ShellWarning] = []
        self._warned: set[tuple[int, str]] = set()
        self.placeholders: dict[str, str] = {}  # placeholder name -> the run-time text it stands for

    def placeholder(self, raw: str) -> str:
        """A variable reference standing for run-time text inside analysed strings."""
        name = f"__slimmer_dyn{len(self.placeholders)}"
        self.placeholders[name] = raw
        return "${" + name + "}"

    def record(self, name: str, line: int, how: str, glob: bool, col: int) -> None:
        """Keep each (name, how) once, at its first place in the text."""
        key = (name, how)
        pos = (line, col)
        old = self._uses.get(key)
        if old is None or pos < old[0]:
            self._uses[key] = (pos, len(self._uses) if old is None else old[1], CommandUse(name, line, how, glob))

    def result(self) -> tuple[tuple[CommandUse, ...], tuple[ShellWarning, ...]]:
        """Uses in text order and warnings by line, independent of the order of analysis."""
        uses = sorted(self._uses.values(), key=lambda u: (u[0], u[1]))
        return tuple(u[2] for u in uses), tuple(sorted(self._warnings, key=lambda w: w.line))

    def warn(self, line: int, message: str) -> None:
        """Warn once per line and message, showing placeholders as the text they replaced."""
        if "__slimmer_dyn" in message:
            message = _PLACEHOLDER.sub(lambda m: self.placeholders.get(m.group(1), m.group(0)), message)
        if (line, message) not in self._warned:
            self._warned.add((line, message))
            self._warnings.append(ShellWarning(line, message))
