"""What the analysis may ask about the image's files, so that it stays text in, findings out.

A shell expands `for f in /docker-entrypoint.d/*.sh` to the files that exist, and
`find DIR -type f | while read f` reads the names find prints. The analyser asks a FileQuery
for those names instead of reading a filesystem itself; the tracer answers from the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class FileQuery(Protocol):
    def glob(self, pattern: str) -> list[str]:
        """The paths a shell pattern expands to, sorted, as the shell writes them (a relative
        pattern gives relative paths); [] when nothing matches."""
        ...

    def find(self, args: Sequence[str]) -> list[str] | None:
        """The paths `find ARGS` prints, or None when that cannot be told."""
        ...


class NoFiles:
    """The answer when only the text is known: no pattern matches, find's output is unknown."""

    def glob(self, pattern: str) -> list[str]:
        return []

    def find(self, args: Sequence[str]) -> list[str] | None:
        return None
