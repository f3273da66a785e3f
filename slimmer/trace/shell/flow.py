"""The paths a walk may take, and the variables on the path being walked.

Each path that may run is walked from a copy of the state; where paths meet, a variable holds
every value any path may leave (values.merge). Every part of the analyser of one shell process
reads and changes variables through the one Flow of that process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .values import State, merge


class Flow:
    """The state of the path being walked."""

    def __init__(self, state: State) -> None:
        self.state = state

    def branches(self, bodies: Sequence[Callable[[], object]], fallthrough: bool) -> None:
        """Walk alternative paths from the current state and join their results; with
        `fallthrough`, taking none of them is a path too."""
        pre = self.state
        outs = [pre] if fallthrough else []
        for body in bodies:
            self.state = pre.copy()
            body()
            outs.append(self.state)
        self.state = merge(outs) if outs else pre

    def isolated(self, body: Callable[[], object]) -> None:
        """Walk code whose assignments do not outlive it (a subshell, a substitution)."""
        saved = self.state
        self.state = saved.copy()
        try:
            body()
        finally:
            self.state = saved
