"""What a shell variable may hold, tracked as a set of possible values.

The analysis over-approximates: after an `if` a variable holds every value
any branch may leave (merge), and a value that is only partly known keeps its
known text (Partial) because a command name is usually in it.  Sets keep their
first-seen order so that results never depend on hashing.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_VALUES = 16  # possible values kept per variable
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=(.*)\Z", re.S)  # NAME=value, NAME+=value


class Unset:
    """Marker for a variable that is neither in env nor assigned."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


class GlobStr(str):
    """A value that came from an unquoted glob (`for f in *.sh`): still a pattern for the tracer."""

    __slots__ = ()


@dataclass(frozen=True)
class Partial:
    """A value with known and unknown parts, e.g. `"test $? -eq 0"`.

    Keeping the known text lets `$grep_cmd args` still name `test` when only an
    argument is dynamic.  segs: (text or None, glob, source text) in order.
    """

    segs: tuple[tuple[str | None, bool, str], ...]


# A variable's possible value: a string, None (unknown), UNSET, a Partial, or
# a tuple for an array (elements may be None).
Value = str | None | Unset | Partial | tuple
Positionals = tuple | None  # ($0, $1, ...) or None when unknown


def uniq(values: Iterable) -> tuple:
    """Distinct values in first-seen order: results must not depend on hashing."""
    return tuple(dict.fromkeys(values))


class OSet(dict):
    """A set that iterates in insertion order, so results do not depend on hashing."""

    def __init__(self, values: Iterable = ()) -> None:
        super().__init__((v, None) for v in values)

    def add(self, v: object) -> None:
        self[v] = None

    def update(self, values: Iterable) -> None:  # type: ignore[override]
        for v in values:
            self[v] = None


class State:
    """Variables and positional parameters as sets of possible values."""

    __slots__ = ("env", "pos", "vars")

    def __init__(self, env: dict[str, str], vars: dict[str, tuple], pos: tuple) -> None:
        self.env = env
        self.vars = vars
        self.pos = pos

    def copy(self) -> State:
        return State(self.env, dict(self.vars), self.pos)

    def get(self, name: str) -> tuple:
        """Possible values of a variable: assigned, else from env, else UNSET."""
        v = self.vars.get(name)
        if v is not None:
            return v
        if name in self.env:
            return (self.env[name],)
        return (UNSET,)

    def set(self, name: str, values: Iterable[Value]) -> None:
        """Assign possible values, at most MAX_VALUES of them."""
        vals = uniq(values)
        if len(vals) > MAX_VALUES:
            # keep what all values start with: a command name usually
            prefix = os.path.commonprefix([_known_prefix(v) for v in vals])  # noqa: RUF071 (a string prefix)
            if prefix:
                vals = (Partial(((prefix, False, prefix), (None, False, "$" + name))),)
            else:
                vals = (None,)
        self.vars[name] = vals


def merge(states: list[State]) -> State:
    """Join the states of alternative paths: every value any path may leave."""
    first = states[0]
    if len(states) == 1:
        return first
    out = first.copy()
    base = first.vars.items()
    names: set[str] = set()
    for s in states[1:]:
        # branches start as copies of one state: only the differences matter
        names.update(n for n, _ in base ^ s.vars.items())
    for name in names:
        vals = [s.get(name) for s in states]
        if all(v is vals[0] for v in vals):
            out.vars[name] = vals[0]
        else:
            out.set(name, itertools.chain(*vals))
    pos = uniq(itertools.chain(*(s.pos for s in states)))
    if len(pos) > MAX_VALUES:
        pos = (None,)
    out.pos = pos
    return out


def _known_prefix(v: Value) -> str:
    """The text a value surely starts with."""
    if isinstance(v, str):
        return v
    if isinstance(v, Partial):
        out = []
        for t, _, _ in v.segs:
            if t is None:
                break
            out.append(t)
        return "".join(out)
    return ""


def append_value(old: Value, new: Value) -> Value:
    """X+=value; None when the result cannot be represented."""
    if old is None or new is None:
        return None
    if isinstance(old, Unset):
        return new
    if isinstance(new, tuple):
        if isinstance(old, Partial):
            return None
        return (old if isinstance(old, tuple) else (old,)) + new
    if isinstance(old, tuple):
        return None
    if isinstance(new, Unset):
        return old
    if isinstance(old, Partial) or isinstance(new, Partial):
        segs_old = old.segs if isinstance(old, Partial) else ((old, False, old),)
        segs_new = new.segs if isinstance(new, Partial) else ((new, False, new),)
        return Partial(segs_old + segs_new)
    return old + new
