"""Command lines as the tracers see them: each word known before the container runs, or not.

A shell script hands the command resolver the argv of every command it runs; some words are
built at run time (`"$CMD"`, `--port=$PORT`). Such a word is a `DynamicWord`: still a `str`
(its text as written, so messages and handlers that only compare strings keep working), with
the parts that are known, so that `sh -c "exec app --port $PORT"` can still be read for `app`.
"""

from __future__ import annotations

from typing import NamedTuple


class Piece(NamedTuple):
    """A run of a word: its text, or None when it is known only at run time, and how it is written."""

    text: str | None
    source: str


class DynamicWord(str):
    """A word whose text is known only at run time; its string value is its source text."""

    pieces: tuple[Piece, ...]

    def __new__(cls, source: str, pieces: tuple[Piece, ...] = ()) -> DynamicWord:
        word = super().__new__(cls, source)
        word.pieces = pieces or (Piece(None, source),)
        return word


def is_dynamic(word: str) -> bool:
    return isinstance(word, DynamicWord)
