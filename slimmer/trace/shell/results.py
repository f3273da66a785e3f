"""What the analysis reports: the command lines a script runs, the files it reads as code or
as data, and what it could not resolve."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from slimmer.trace.argv import DynamicWord, Piece


class UseKind(str, Enum):
    """How a script uses what a CommandUse names."""

    RUN = "run"  # a command line the shell runs as a program (argv)
    EXEC = "exec"  # a command line that replaces the shell (`exec CMD`)
    SOURCE = "source"  # a file read as code by this shell (`. FILE`): a path, or a name searched in PATH
    LOOKUP = "lookup"  # a name that must resolve in PATH (`command -v`, `type`, `hash`)
    READ = "read"  # a path the shell itself opens, tests or lists (`< F`, `[ -f F ]`, `cd D`, a glob's matches)
    WRITE = "write"  # a file the shell writes (`> F`): the directory it goes in must exist


@dataclass(frozen=True)
class CommandUse:
    """A command line or path the script needs; the tracer resolves it against the image.

    argv: the words as the program receives them; a word built at run time is a DynamicWord.
    For SOURCE, LOOKUP, READ and WRITE it holds the one name or path.
    """

    argv: tuple[str, ...]
    line: int
    kind: UseKind

    @property
    def name(self) -> str:
        return self.argv[0]


@dataclass(frozen=True)
class ShellWarning:
    """Something the analysis could not resolve; the tracer should surface it."""

    line: int
    message: str


@dataclass(frozen=True)
class ShellAnalysis:
    """What a script needs, with what could not be resolved.

    functions: names the script defines (pass them as `functions=` when analysing a script
    that sources this one). variables: variables with a single known value at the end of the
    script (pass them as `env=` likewise).
    """

    uses: tuple[CommandUse, ...]
    warnings: tuple[ShellWarning, ...]
    functions: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()


_PLACEHOLDER = re.compile(r"\$\{?(__slimmer_dyn[0-9]+)\}?")  # see Findings.placeholder


class Findings:
    """Results shared by a script and the strings it evaluates (eval, trap, here-documents)."""

    def __init__(self) -> None:
        # (words, kind) -> ((line, column) of its first use, order found, the use)
        self._uses: dict[tuple[tuple[tuple[str, bool], ...], UseKind], tuple[tuple[int, int], int, CommandUse]] = {}
        self._warnings: list[ShellWarning] = []
        self._warned: set[tuple[int, str]] = set()
        self.placeholders: dict[str, str] = {}  # placeholder name -> the run-time text it stands for

    def placeholder(self, raw: str) -> str:
        """A variable reference standing for run-time text inside analysed strings."""
        name = f"__slimmer_dyn{len(self.placeholders)}"
        self.placeholders[name] = raw
        return "${" + name + "}"

    def with_placeholders(self, pieces: tuple[Piece, ...]) -> str:
        """Code whose run-time parts become variables nobody sets, so that its analysis warns
        about them where they matter, by their text."""
        return "".join(p.text if p.text is not None else self.placeholder(p.source) for p in pieces)

    def record(self, argv: list[str], line: int, col: int, kind: UseKind) -> None:
        """Keep each command line once per kind, at its first place in the text."""
        words = tuple(self._shown(word) for word in argv)
        key = (tuple((word, isinstance(word, DynamicWord)) for word in words), kind)
        pos = (line, col)
        old = self._uses.get(key)
        if old is None or pos < old[0]:
            self._uses[key] = (pos, len(self._uses) if old is None else old[1], CommandUse(words, line, kind))

    def result(self) -> tuple[tuple[CommandUse, ...], tuple[ShellWarning, ...]]:
        """Uses in text order and warnings by line, independent of the order of analysis."""
        uses = sorted(self._uses.values(), key=lambda u: (u[0], u[1]))
        return tuple(u[2] for u in uses), tuple(sorted(self._warnings, key=lambda w: w.line))

    def warn(self, line: int, message: str) -> None:
        """Warn once per line and message, showing placeholders as the text they replaced."""
        message = self._unplaced(message)
        if (line, message) not in self._warned:
            self._warned.add((line, message))
            self._warnings.append(ShellWarning(line, message))

    def _unplaced(self, text: str) -> str:
        if "__slimmer_dyn" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: self.placeholders.get(m.group(1), m.group(0)), text)

    def _shown(self, word: str) -> str:
        """A word as the caller wrote it: placeholders inside a dynamic word become its text again."""
        if not isinstance(word, DynamicWord) or "__slimmer_dyn" not in word:
            return word
        pieces = tuple(Piece(p.text, self._unplaced(p.source)) for p in word.pieces)
        return DynamicWord(self._unplaced(word), pieces)
