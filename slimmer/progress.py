"""Progress bars for the long steps, shown only to a person watching a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tqdm import tqdm


@dataclass(frozen=True)
class Progress:
    """Whether to draw bars: on when stderr is a TTY and --quiet was not given."""

    enabled: bool

    @classmethod
    def auto(cls, quiet: bool = False) -> Progress:
        return cls(enabled=not quiet and sys.stderr.isatty())

    @contextmanager
    def bytes(self, description: str, total: int | None) -> Iterator[tqdm]:
        """A bar counting bytes; call `.update(n)` on what it yields."""
        bar = tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                   disable=not self.enabled, leave=False, file=sys.stderr)
        try:
            yield bar
        finally:
            bar.close()


QUIET = Progress(enabled=False)
