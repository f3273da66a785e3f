"""Expanded words: segments, the alternatives a word may expand to, and fields.

Expanding a word yields alternatives (one per combination of possible variable values), each
a list of segments; word splitting turns an alternative into fields, the arguments a command
finally sees. Dynamic parts stay in place as None so that warnings can show the source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias, TypeVar

from slimmer.trace.argv import DynamicWord, Piece

from .quoting import has_glob
from .values import GlobStr, Part, Partial, Value

MAX_ALTS = 32  # possible values kept per word / command line
_IFS = re.compile(r"[ \t\n]+")
T = TypeVar("T")


class Segment(NamedTuple):
    """A run of an expanded word."""

    text: str | None  # None: known only at run time
    split: bool  # unquoted: word splitting applies
    glob: bool  # holds unquoted glob characters
    source: str  # as written


# One way a word may expand: its segments in order; None between two segments separates
# fields even when quoted ("$@").
Alt: TypeAlias = list[Segment | None]


@dataclass(slots=True)
class Field:
    """One argument after expansion and word splitting."""

    text: str | None  # None when any part is dynamic
    pieces: tuple[Piece, ...]  # its runs in order
    glob: bool  # a pattern still: unquoted glob characters that matched no file (or were not tried)
    src: str  # as written
    line: int
    col: int = 0

    @staticmethod
    def static(text: str, line: int, src: str | None = None, col: int = 0) -> Field:
        """A field with no expansion in it (a default command, text cut from an option)."""
        return Field(text, (Piece(text, text),), False, text if src is None else src, line, col)

    def as_value(self) -> str | None:
        """What the field gives a variable ($1, a loop variable): a glob stays a pattern."""
        return GlobStr(self.text) if self.glob and self.text is not None else self.text

    def as_word(self) -> str:
        """The field as a command-line word: its text, or a DynamicWord keeping the known parts."""
        if self.text is not None:
            return self.text
        return DynamicWord(self.src, self.pieces)


def split_fields(alt: Alt, src: str, line: int, col: int) -> list[Field]:
    """Word splitting of one expansion result into fields."""
    fields: list[Field] = []
    cur: list[str] = []
    pieces: list[Piece] = []
    started = False
    dynamic = False
    glob = False

    def flush() -> None:
        nonlocal cur, pieces, started, dynamic, glob
        if started:
            fields.append(Field(None if dynamic else "".join(cur), tuple(pieces), glob, src, line, col))
        cur, pieces, started, dynamic, glob = [], [], False, False, False

    for seg in alt:
        if seg is None:
            started = True
            flush()
            continue
        if seg.text is None:
            dynamic = True
            started = True
            pieces.append(Piece(None, seg.source))
            continue
        if seg.split:
            for k, piece in enumerate(_IFS.split(seg.text)):
                if k:
                    flush()
                if piece:
                    cur.append(piece)
                    pieces.append(Piece(piece, piece))
                    started = True
                    glob = glob or has_glob(piece)
        else:
            cur.append(seg.text)
            pieces.append(Piece(seg.text, seg.source))
            started = True
            glob = glob or seg.glob
    flush()
    return fields


def join_text(alt: Alt) -> str | None:
    """A segment list as one string (assignments do not split); None if dynamic."""
    parts = []
    for s in alt:
        if s is None:
            parts.append(" ")
        elif s.text is None:
            return None
        else:
            parts.append(s.text)
    return "".join(parts)


def join_value(alt: Alt) -> Value:
    """A segment list as the value an assignment stores (no splitting)."""
    if all(s is None or s.text is not None for s in alt):
        return join_text(alt)
    return Partial(tuple(Part(" ", False, " ") if s is None else Part(s.text, s.glob, s.source) for s in alt))


def dynamic_word(raw: str, split: bool) -> list[Alt]:
    """A word whose text is known only at run time, as its one alternative."""
    return [[Segment(None, split, False, raw)]]


def product(lists: list[list[list[T]]], cap: int = MAX_ALTS) -> list[list[T]]:
    """All combinations of alternatives, at most `cap` (an over-approximation anyway)."""
    res: list[list[T]] = [[]]
    for alts in lists:
        if len(alts) == 1:
            only = alts[0]
            for r in res:
                r.extend(only)
        else:
            res = [r + a for r in res for a in alts][:cap]
    return res


def product_or_dynamic(lists: list[list[Alt]], split: bool, raw: str) -> list[Alt]:
    """Combine the parts of a word; past the cap the word is simply dynamic."""
    total = 1
    for alts in lists:
        total *= len(alts)
    if total > MAX_ALTS:
        return dynamic_word(raw, split)
    return product(lists)


def collapse(alts: list[list[Field]], src: str, line: int) -> list[list[Field]]:
    """One field list standing for many: fields that differ become dynamic."""
    n = len(alts[0])
    if all(len(a) == n for a in alts):
        merged = []
        for i in range(n):
            fs = [a[i] for a in alts]
            if all(f.text == fs[0].text and f.text is not None for f in fs):
                merged.append(fs[0])
            else:
                merged.append(Field(None, (Piece(None, fs[0].src),), False, fs[0].src, fs[0].line, fs[0].col))
        return [merged]
    return [[Field(None, (Piece(None, src),), False, src, line)]]

