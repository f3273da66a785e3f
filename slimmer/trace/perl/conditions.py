"""When Perl code really runs a load: the `if` that guards it, and what decides that `if`.

Static tracing keeps every code path, but some conditions are known before the program runs,
or depend on an option nobody sets:

- `${^TAINT}` is true only under `-T`/`-t`: File::Basename loads `re` (and its 650 KB XS
  object) only then. Such a load waits for a perl command line with `-T` or `-t`.
- `$^O` is "linux" in a Linux container: `if ($^O eq 'MSWin32') { require Win32 }` never runs.
- An option of a module, read as `$obj->{name}`, `$hash{name}` or `$Package::Name`, where the
  module declares the package variable `$Name` (its user-settable default, as Data::Dumper's
  `$Deparse`): Data::Dumper loads B::Deparse only when `deparse` is set. Such a load waits for
  another traced Perl file that names the option (any identifier equal to it, case aside:
  `$Data::Dumper::Deparse = 1`, `->Deparse(1)`, `deparse => 1`).

Where this guesses: an option with a package default is set by name outside its module (not by
the module itself, not from the environment, not by a method name built at run time); a
condition with `||`, `or` or `?:` is never taken apart; blocks are matched by counting braces,
and one whose end differs when quotes are skipped, or that reaches a top-level `sub` or
`package`, is taken for a miscount (no guard).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAINT = "taint mode"  # the trigger of loads under ${^TAINT}
OS_NAME = "linux"  # $^O of a perl in a Linux container

_IF = re.compile(r"(?<![\w$@%&>:'\"-])(?:if|elsif)\s*\(")
_STATEMENT_TAIL = re.compile(r"[^;{}]*")
_POSTFIX_IF = re.compile(r"\s+if\s+(.*?)\s*", re.S)
_TOP_LEVEL = re.compile(r"(?:sub|package)\s")
_UNSPLIT = re.compile(r"\|\||\bor\b|\?|\bxor\b|\bnot\b|!(?!=)")
_BLOCK_OPEN = re.compile(r"\s*\{")
_CONJUNCTION = re.compile(r"&&|\band\b")
_TAINT_VARIABLE = re.compile(r"\$\{\^TAINT\}")
_OS_EQUAL = re.compile(r"\$\^O\s*(eq|ne)\s*(['\"])(\w+)\2|(['\"])(\w+)\4\s*(eq|ne)\s*\$\^O")
_OS_MATCH = re.compile(r"\$\^O\s*=~\s*(?:m?/([^/]*)/|m\{([^}]*)\})(\w*)")
_OPTION = re.compile(r"\$\w+\s*(?:->\s*)?\{\s*(['\"]?)(\w+)\1\s*\}|\$(?:\w+::)+(\w+)")


@dataclass(frozen=True)
class Guard:
    """The condition a load runs under: `trigger` is what makes it run (TAINT, or an option's
    name in lower case), None when it never runs in this perl."""

    trigger: str | None
    condition: str  # as written: "${^TAINT}", "$s->{deparse}", "$^O eq 'MSWin32'"


class Guards:
    """The guarded spans of one file's code (non-code blanked, as the scanner sees it)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self._options = declared_options(code)
        self._spans: list[tuple[int, int, Guard]] = []
        for m in _IF.finditer(code):
            close = _matching(code, m.end() - 1, "(", ")")
            if close is None:
                continue
            body = _BLOCK_OPEN.match(code, close)
            guard = self._evaluate(code[m.end():close - 1]) if body else None
            end = _block_end(code, body.end() - 1) if body and guard else None
            if guard and end is not None:
                self._spans.append((m.start(), end, guard))

    def at(self, start: int, end: int) -> Guard | None:
        """The guard of a statement from `start` to `end` (`require X if COND;` or inside a block)."""
        tail = _STATEMENT_TAIL.match(self.code, end)
        m = _POSTFIX_IF.fullmatch(tail.group(0)) if tail else None
        guard = self._evaluate(m.group(1)) if m else None
        if guard:
            return guard
        # the innermost enclosing block decides when it never runs, any of them when it waits
        enclosing = [g for s, e, g in self._spans if s <= start < e]
        return next((g for g in enclosing if g.trigger is None), enclosing[-1] if enclosing else None)

    def _evaluate(self, condition: str) -> Guard | None:
        if _UNSPLIT.search(condition):
            return None
        for term in _CONJUNCTION.split(condition):
            guard = self._term(term.strip().strip("()").strip())
            if guard:
                return guard
        return None

    def _term(self, term: str) -> Guard | None:
        if _TAINT_VARIABLE.fullmatch(term):
            return Guard(TAINT, term)
        m = _OS_EQUAL.fullmatch(term)
        if m:
            operator, name = (m.group(1), m.group(3)) if m.group(1) else (m.group(6), m.group(5))
            return Guard(None, term) if (name == OS_NAME) == (operator == "ne") else None
        m = _OS_MATCH.fullmatch(term)
        if m:
            try:
                pattern = re.compile(m.group(1) or m.group(2) or "", re.I if "i" in m.group(3) else 0)
            except re.error:
                return None
            return None if pattern.search(OS_NAME) else Guard(None, term)
        m = _OPTION.fullmatch(term)
        if m:
            name = (m.group(2) or m.group(3)).lower()
            return Guard(name, term) if name in self._options else None
        return None


def declared_options(code: str) -> set[str]:
    """Package variables the file declares (`our ($Indent, $Deparse)`, `use vars qw($Debug)`),
    in lower case: the defaults its users may set."""
    names: set[str] = set()
    for m in re.finditer(r"(?<![\w$])(?:our\b|use\s+vars\b)([^;]*);", code):
        names |= {name.lower() for name in re.findall(r"\$(\w+)", m.group(1))}
    return names


def _matching(code: str, opening: int, open_char: str, close_char: str) -> int | None:
    """Offset just after the bracket closing the one at `opening`."""
    depth = 0
    for i in range(opening, len(code)):
        if code[i] == open_char:
            depth += 1
        elif code[i] == close_char:
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _block_end(code: str, opening: int) -> int | None:
    """Offset just after the block opened at `opening`, when counting braces with and without
    skipping quoted strings agree and the block reaches no top-level `sub` or `package`."""
    plain = _matching(code, opening, "{", "}")
    if plain is None or plain != _quote_aware_end(code, opening):
        return None
    inner = code[opening:plain]
    if any(_TOP_LEVEL.match(line) for line in inner.split("\n")[1:]):
        return None
    return plain


def _quote_aware_end(code: str, opening: int) -> int | None:
    depth = 0
    quote = ""
    i = opening
    while i < len(code):
        c = code[i]
        if c == "\\":
            i += 2
            continue
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'" and code[i - 1] not in "$@":  # `$'` and `$"` are variables
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None
