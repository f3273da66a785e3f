"""What a shell variable may hold, tracked as a set of possible values.

The analysis over-approximates: after an `if` a variable holds every value any branch may
leave (merge), and a value that is only partly known keeps its known text (Partial) because a
command name is usually in it. Sets keep their first-seen order so that results never depend
on hashing.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

MAX_VALUES = 16  # possible values kept per variable
MAX_LIST_VALUES = 256  # ... when they are the names of a list (loop words, files found)
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=(.*)\Z", re.S)  # NAME=value, NAME+=value


class Unset:
    """Marker for a variable that is neither in env nor assigned."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


class GlobStr(str):
    """A value that came from an unquoted glob that matched nothing: still a pattern."""

    __slots__ = ()


class Part(NamedTuple):
    """A run of a partly known value: its text (None if known only at run time)."""

    text: str | None
    glob: bool  # holds unquoted glob characters
    source: str  # as written


@dataclass(frozen=True)
class Partial:
    """A value with known and unknown parts, e.g. `"test $? -eq 0"`.

    Keeping the known text lets `$grep_cmd args` still name `test` when only an argument is
    dynamic.
    """

    parts: tuple[Part, ...]


ArrayValue: TypeAlias = tuple[str | None, ...]  # an array's elements; None: known only at run time
# A variable's possible value: a string, None (known only at run time), UNSET, a Partial, an array.
Value: TypeAlias = str | Unset | Partial | ArrayValue | None
# The positional parameters of one way the shell may run: ($0, $1, ...), or None when unknown.
Positionals: TypeAlias = tuple[str | None, ...] | None


def uniq(values: Iterable[Value]) -> tuple[Value, ...]:
    """Distinct values in first-seen order: results must not depend on hashing."""
    return tuple(dict.fromkeys(values))


class OSet(dict[Value, None]):
    """A set that iterates in insertion order, so results do not depend on hashing."""

    def __init__(self, values: Iterable[Value] = ()) -> None:
        super().__init__((v, None) for v in values)

    def add(self, v: Value) -> None:
        self[v] = None

    def update(self, values: Iterable[Value]) -> None:  # type: ignore[override]
        for v in values:
            self[v] = None


class State:
    """Variables and positional parameters as sets of possible values."""

    __slots__ = ("env", "name", "pos", "vars")

    def __init__(self, env: dict[str, str], variables: dict[str, tuple[Value, ...]],
                 pos: tuple[Positionals, ...], name: str | None = None) -> None:
        self.env = env
        self.vars = variables
        self.pos = pos  # every way the positional parameters may be
        self.name = name  # $0 when an argument list is unknown: the script's path is still known

    def copy(self) -> State:
        return State(self.env, dict(self.vars), self.pos, self.name)

    def get(self, name: str) -> tuple[Value, ...]:
        """Possible values of a variable: assigned, else from env, else UNSET."""
        v = self.vars.get(name)
        if v is not None:
            return v
        if name in self.env:
            return (self.env[name],)
        return (UNSET,)

    def set(self, name: str, values: Iterable[Value], limit: int = MAX_VALUES) -> None:
        """Assign possible values, at most `limit` of them."""
        vals = uniq(values)
        if len(vals) > limit:
            # keep what all values start with: a command name usually
            prefix = os.path.commonprefix([_known_prefix(v) for v in vals])  # noqa: RUF071 (a string prefix)
            if prefix:
                vals = (Partial((Part(prefix, False, prefix), Part(None, False, "$" + name))),)
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
    for name in sorted(names):
        vals = [s.get(name) for s in states]
        if all(v is vals[0] for v in vals):
            out.vars[name] = vals[0]
        else:
            out.set(name, itertools.chain(*vals))
    if any(s.pos is not first.pos for s in states):
        pos = tuple(dict.fromkeys(itertools.chain(*(s.pos for s in states))))
        out.pos = pos if len(pos) <= MAX_LIST_VALUES else (None,)
    return out


def _known_prefix(v: Value) -> str:
    """The text a value surely starts with."""
    if isinstance(v, str):
        return v
    if isinstance(v, Partial):
        out = []
        for part in v.parts:
            if part.text is None:
                break
            out.append(part.text)
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
        parts_old = old.parts if isinstance(old, Partial) else (Part(old, False, old),)
        parts_new = new.parts if isinstance(new, Partial) else (Part(new, False, new),)
        return Partial(parts_old + parts_new)
    return old + new
