"""The keep set: a worklist fixpoint over tracers, recording why each file is kept.

A tracer answers one question: "this file is needed; what else must exist?". The closure
starts from the roots, asks every tracer about every newly kept file, and follows symlinks on
the way (each kept too, since the lookup fails without them) until nothing new appears.

A file that is only read as data (`cat F`, a path named in code, a data rule's file) is kept
but not handed to the tracers that follow what a file runs or loads (npm reads the bash script
/usr/bin/ldd to tell the libc; that needs no bash); only a tracer that reads data files for
what they name (`reads_data`: configuration that includes other files) sees it. A file that is
read and also run or loaded is traced as run, whichever use is found first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.filekind import FileKind, classify
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.argv import DynamicWord

MAX_INVOCATIONS = 8  # distinct argument lists a script is traced with
ANY_ARGUMENTS = (DynamicWord('"$@"'),)  # the arguments of a script run in ways not told


@dataclass(frozen=True)
class Need:
    """A path that must exist, and why. Relative paths are not allowed: tracers resolve them."""

    path: str
    reason: str  # human sentence: "DT_NEEDED libz.so.1", "interpreter of script", ...
    recursive: bool = False  # a directory needed with everything under it
    optional: bool = False  # fine if missing (a search candidate, a best-effort data file)
    role: str | None = None  # how the file is used when its content does not say: "shell:dash" script, ...
    args: tuple[str, ...] | None = None  # the arguments a script is run with ($1, ...), when it is run
    data: bool = False  # only read, not run or loaded: kept (symlinks too), seen only by tracers that read data
    rule: str | None = None  # the rule that asks for it ("zoneinfo", "compiled-in"); else the tracer's name


@dataclass(frozen=True)
class Reason:
    """Why a path is kept: the tracer's sentence and the kept file that caused it (None for roots)."""

    text: str
    via: str | None


@dataclass(frozen=True)
class Warning:
    """Something the analysis could not resolve; shown to the user, never dropped."""

    path: str | None  # the file being analysed, if any
    message: str


@dataclass
class TraceContext:
    """What tracers may consult: the filesystem, the image environment, shared caches."""

    fs: RootFS
    env: Mapping[str, str] = field(default_factory=dict)  # the image config's Env, parsed
    cwd: str = "/"  # the container's WorkingDir: where relative names are looked up
    warnings: list[Warning] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # real path -> role given by a Need
    invocations: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # real path -> `args` of its Needs
    notes: dict[str, str] = field(default_factory=dict)  # real path -> what a tracer found it is ("static-pie ...")
    _kinds: dict[tuple[int, int], FileKind] = field(default_factory=dict)
    _warned: set[Warning] = field(default_factory=set)

    def kind(self, entry: Entry) -> FileKind:
        """Content kind of a regular file, classified once per content."""
        if entry.type is not EntryType.FILE:
            return FileKind.OTHER
        key = entry.content_key
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._kinds[key] = classify(self.fs, entry)
        return kind

    def add_invocation(self, path: str, args: tuple[str, ...]) -> bool:
        """Record one way a script is run; False when it is known already. Past MAX_INVOCATIONS,
        one more stands for any arguments."""
        known = self.invocations.setdefault(path, [])
        # ANY_ARGUMENTS alone is a guess, for a script kept before anything was seen running it
        if args == ANY_ARGUMENTS and known:
            return False
        if known == [ANY_ARGUMENTS]:
            known[0] = args
            return True
        if len(known) >= MAX_INVOCATIONS:
            args = ANY_ARGUMENTS
        if args in known:
            return False
        known.append(args)
        return True

    def warn(self, path: str | None, message: str) -> None:
        """Say it once: a file traced again (a new role, other arguments) finds the same things."""
        warning = Warning(path, message)
        if warning not in self._warned:
            self._warned.add(warning)
            self.warnings.append(warning)

    def note(self, path: str, text: str) -> None:
        """Say what a kept file is, where its reason alone would not (a static binary needs nothing)."""
        self.notes[path] = text


class Tracer(Protocol):
    """A plug-in that knows one kind of file (ELF, shell script, Python, Node, data rules).

    It is asked about the files that are run, loaded or sourced. A tracer that also reads files
    kept only as data (Need.data) says so with a class attribute `reads_data = True`.
    """

    name: str

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        """What must exist because `path` (a kept file, symlinks resolved) is needed."""
        ...


@dataclass
class KeepSet:
    """Kept paths with their reasons, in the order they were found."""

    reasons: dict[str, Reason] = field(default_factory=dict)
    warnings: list[Warning] = field(default_factory=list)
    # path -> what kept it: "root", a tracer's name or the rule a Need names; a symlink's target
    # and the symlinks on the way share the rule of what asked for them
    rules: dict[str, str] = field(default_factory=dict)

    def __contains__(self, path: str) -> bool:
        return path in self.reasons

    def __len__(self) -> int:
        return len(self.reasons)

    def chain(self, path: str) -> list[tuple[str, Reason]]:
        """From `path` back to its root: each step is (path, why it is kept)."""
        steps: list[tuple[str, Reason]] = []
        seen: set[str] = set()
        current: str | None = path
        while current is not None and current in self.reasons and current not in seen:
            seen.add(current)
            reason = self.reasons[current]
            steps.append((current, reason))
            current = reason.via
        return steps


def close(roots: Iterable[Need], tracers: list[Tracer], ctx: TraceContext) -> KeepSet:
    """Keep the roots and everything the tracers say they need, transitively."""
    keep = KeepSet(warnings=ctx.warnings)
    data_readers = [tracer for tracer in tracers if _reads_data(tracer)]
    read_only: set[str] = set()  # files kept only as data so far: only the data readers have seen them
    work: deque[tuple[Need, str | None, str]] = deque((root, None, "root") for root in roots)
    while work:
        need, via, rule = work.popleft()
        rule = need.rule or rule
        for entry, reason in _reached(need, via, ctx):
            fresh = entry.path not in keep
            is_file = entry.type is EntryType.FILE
            if is_file and need.data:
                if fresh:
                    keep.reasons[entry.path] = reason
                    keep.rules[entry.path] = rule
                    read_only.add(entry.path)
                    work.extend(_traced(data_readers, entry, ctx))
                continue
            # read before, run or loaded now: traced from here, with the reason that says so
            first_run = is_file and entry.path in read_only
            read_only.discard(entry.path)
            if fresh or first_run:
                keep.reasons[entry.path] = reason
                keep.rules[entry.path] = rule
            # A file kept before may learn its role now (a script first seen as a plain file), or
            # be run with other arguments: its tracers run again with what is known of it.
            role_added = need.role is not None and is_file and entry.path not in ctx.roles
            if need.role is not None and role_added:
                ctx.roles[entry.path] = need.role
            run_anew = need.args is not None and is_file and ctx.add_invocation(entry.path, need.args)
            if not (fresh or first_run or role_added or run_anew):
                continue
            if entry.type is EntryType.SYMLINK:
                # A symlink is useless without its target (a no-op when the lookup already got there).
                work.append((Need(entry.path, f"target of symlink {entry.path}", optional=True, data=need.data),
                             entry.path, keep.rules[entry.path]))
            if is_file:
                work.extend(_traced([t for t in tracers if not (first_run and t in data_readers)], entry, ctx))
    for path, note in ctx.notes.items():
        if path in keep.reasons:
            reason = keep.reasons[path]
            keep.reasons[path] = Reason(f"{reason.text}; {note}", reason.via)
    return keep


def _reads_data(tracer: Tracer) -> bool:
    return bool(getattr(tracer, "reads_data", False))


def _traced(tracers: list[Tracer], entry: Entry, ctx: TraceContext) -> list[tuple[Need, str | None, str]]:
    """What `tracers` say a kept file needs, as work for the closure."""
    return [(found, entry.path, tracer.name) for tracer in tracers for found in tracer.needs(entry.path, entry, ctx)]


def _reached(need: Need, via: str | None, ctx: TraceContext) -> list[tuple[Entry, Reason]]:
    """What a lookup of `need.path` touches: the symlinks it goes through, then what it reaches
    (with its subtree for a recursive need)."""
    fs = ctx.fs
    try:
        resolved = fs.resolve(need.path)
    except SymlinkLoopError as e:
        ctx.warn(via, f"{e} ({need.reason})")
        return []
    on_the_way = Reason(f"symlink on the way to {need.path}", via)
    reached: list[tuple[Entry, Reason]] = []
    for link in resolved.symlinks:
        entry = fs.get(link)
        assert entry is not None
        reached.append((entry, Reason(need.reason, via) if link == need.path else on_the_way))
    if resolved.entry is None:
        if not need.optional:
            ctx.warn(via, f"{need.path} not found in the image ({need.reason})")
        return reached
    reached.append((resolved.entry, Reason(need.reason, via)))
    if need.recursive and resolved.entry.type is EntryType.DIR:
        inside = Reason(f"inside {resolved.path} ({need.reason})", via)
        reached.extend((entry, inside) for entry in fs.walk(resolved.path))
    return reached
