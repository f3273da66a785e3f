"""The tracer applying the table: a data set's files are kept once something loads it and
something names them, whichever of the two the closure meets first.

Each kept file may do either: an ELF object loads a set when it imports a loader function (or
is the loader library, or a Go program linking it) and names data in its strings; a shell
script names data in its words and assignments; a configuration file of the set names its
items; the image's Env names some from the start. A loader whose names come from its input
gets the whole set, once, with the reason saying so.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.filekind import FileKind
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.elf.reader import ET_DYN, ET_EXEC, ElfError
from slimmer.trace.elf.rodata import Literals
from slimmer.trace.elf.tracer import ElfTracer
from slimmer.trace.named.model import Catalog, DataSet, ImageView
from slimmer.trace.named.table import NAMED_DATA
from slimmer.trace.named.words import script_words
from slimmer.trace.shellcode import role_dialect

TRIVIAL_VALUES = frozenset({"", "C", "POSIX"})
_CONFIG_COMMENT = re.compile(r"(?:^|(?<=\s))[#;].*$", re.MULTILINE)
_CONFIG_WORD = re.compile(r"[A-Za-z0-9_+.@/-]+")


@dataclass
class _State:
    """What is known of one data set so far."""

    row: DataSet
    catalog: Catalog
    loaded: str | None = None  # why the set is loaded (the first loader met)
    everything: str | None = None  # why all of it is kept
    names: dict[str, str] = field(default_factory=dict)  # name -> why it is named
    env_named: bool = False  # the Env names one (libraries of `env_libraries` then load it)
    done_names: set[str] = field(default_factory=set)
    done_paths: set[str] = field(default_factory=set)
    done_always: bool = False
    done_everything: bool = False
    followed: set[str] = field(default_factory=set)  # names of the followed set already passed on
    config_paths: frozenset[str] | None = None  # the catalog's configuration files, resolved (read once)


class NamedDataTracer:
    """Tracer plug-in for data chosen by name (the table of table.py)."""

    name = "named"

    def __init__(self, elf: ElfTracer, table: tuple[DataSet, ...] = NAMED_DATA) -> None:
        self.elf = elf
        self.table = table
        self._ctx: TraceContext | None = None
        self._states: list[_State] = []
        self._variables: tuple[str, ...] = ()

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        if self._ctx is not ctx:
            self._start(ctx)
        kind = ctx.kind(entry)
        if kind is FileKind.ELF:
            self._object(path, entry, ctx)
        if role_dialect(ctx.roles.get(path)) is not None:
            self._script(path, entry, ctx)
        if kind is FileKind.TEXT:
            self._config(path, entry, ctx)
        return self._drain()

    # -- where names and loaders are found --

    def _start(self, ctx: TraceContext) -> None:
        """One image: catalogs made lazily by the view, names of the Env read once."""
        self._ctx = ctx
        view = ImageView(ctx.fs, ctx.env, lambda p: self._literals_at(p, ctx), home=ctx.env.get("HOME"))
        self._states = [_State(row, _LazyCatalog(row, view)) for row in self.table]
        self._variables = tuple(dict.fromkeys(v for row in self.table for v in row.names.env))
        for state in self._states:
            for variable in state.row.names.env:
                value = ctx.env.get(variable)
                if value is None or value in TRIVIAL_VALUES:
                    continue
                state.env_named = True
                self._name(state, value, f"{variable}={value} in the image Env")

    def _object(self, path: str, entry: Entry, ctx: TraceContext) -> None:
        info = self.elf.object_info(entry, ctx)
        if info is None or info.type not in (ET_EXEC, ET_DYN):
            return
        label = info.soname or posixpath.basename(path)
        literals = self.elf.loader(ctx).literals(entry, info)
        program = info.interp is not None or info.type == ET_EXEC
        for state in self._states:
            loaders = state.row.loaders
            imported = sorted(info.undefined & loaders.imports) if program or not loaders.programs else []
            linked = sorted(f for f in loaders.go_functions if literals.go_function(f))
            if imported:
                self._load(state, f"loaded by {path}, which imports {', '.join(imported[:3])}")
            elif linked:
                self._load(state, f"loaded by the Go program {path} ({', '.join(linked)})")
            elif loaders.matches(label, loaders.sonames):
                self._load(state, f"loaded by {label} ({path})")
            elif state.env_named and loaders.matches(label, loaders.env_libraries):
                self._load(state, f"loaded by {label} for the locale of the image Env")
            if loaders.matches(label, loaders.any_name) or loaders.matches(posixpath.basename(path), loaders.any_name):
                self._all(state, f"{path} takes {state.row.what}s from its input")
            if imported and state.row.names.strings and not loaders.matches(label, loaders.passing):
                self._strings(state, literals, path)
            if linked and state.row.names.go_strings:
                self._go_strings(state, literals, path)
            if not linked and not loaders.matches(label, loaders.own):
                self._compiled_in(state, literals, path)

    def _strings(self, state: _State, literals: Literals, path: str) -> None:
        accept = state.row.word_filter
        for s in literals.strings:
            if accept is None or accept(s):
                self._name(state, s, f"named in {path}")

    def _go_strings(self, state: _State, literals: Literals, path: str) -> None:
        found = state.catalog.glued(literals.data)
        for name in found:
            self._name(state, name, f"named in the Go program {path}")
        if not found and literals.go_function("time.LoadLocation"):
            self._all(state, f"the Go program {path} calls time.LoadLocation and names no zone: the names come "
                             f"from its input")

    def _compiled_in(self, state: _State, literals: Literals, path: str) -> None:
        """A set directory compiled into an object other than the set's own loader: the
        object reads the set itself, by names it is given."""
        if state.everything is not None:
            return
        directories = {d.rstrip("/") for d in state.catalog.directories()}
        for p in literals.paths:
            if p.rstrip("/") in directories:
                self._all(state, f"{path} reads {p.rstrip('/')} itself (compiled in): the names come from its input")
                return

    def _script(self, path: str, entry: Entry, ctx: TraceContext) -> None:
        text = ctx.fs.read(entry).decode("utf-8", "surrogateescape")
        words = script_words(text, self._variables, ctx.env)
        for state in self._states:
            if state.row.names.script_words:
                for word in words.words:
                    self._name(state, word, f"named in {path}")
            for variable in state.row.names.env:
                assigned = words.assigned.get(variable)
                if assigned is None:
                    continue
                for value in assigned.names:
                    self._name(state, value, f"{variable}={value} in {path}")
                for data in assigned.files:
                    for word in self._file_words(ctx, data):
                        self._name(state, word, f"{variable} read by {path} from {data}")
                if assigned.dynamic:
                    self._all(state, f"{assigned.dynamic} ({path}): the names come from its input")

    def _config(self, path: str, entry: Entry, ctx: TraceContext) -> None:
        words: list[str] | None = None
        for state in self._states:
            names = state.row.names
            if names.config and state.config_paths is None:
                state.config_paths = frozenset(ctx.fs.resolve(c).path for c in state.catalog.config_files())
            if (names.configuration and path.startswith("/etc/")) or (
                    names.config and state.config_paths is not None and path in state.config_paths):
                words = self._file_words(ctx, path) if words is None else words
                for word in words:
                    self._name(state, word, f"named in {path}")

    @staticmethod
    def _file_words(ctx: TraceContext, path: str) -> list[str]:
        entry = ctx.fs.lookup(path)
        if entry is None or not entry.is_file:
            return []
        text = ctx.fs.read(entry, 1 << 20).decode("utf-8", "surrogateescape")
        return _CONFIG_WORD.findall(_CONFIG_COMMENT.sub("", text))

    def _literals_at(self, path: str, ctx: TraceContext) -> Literals | None:
        loader = self.elf.loader(ctx)
        _real, entry = loader.resolve(path)
        if entry is None or not entry.is_file:
            return None
        try:
            return loader.literals(entry, loader.info(entry))
        except ElfError:
            return None

    # -- bookkeeping --

    def _name(self, state: _State, word: str, why: str) -> None:
        name = state.catalog.name(word)
        if name is not None:
            state.names.setdefault(name, why)

    @staticmethod
    def _load(state: _State, why: str) -> None:
        if state.loaded is None:
            state.loaded = why
            if state.row.whole:
                state.everything = why

    def _all(self, state: _State, why: str) -> None:
        if state.everything is None:
            state.everything = why
        self._load(state, why)

    def _follow(self) -> None:
        """A set that follows another is loaded by each item the other loads, named by it too
        (glibc reads the gconv module table for the charset of every locale it loads)."""
        by_key = {state.row.key: state for state in self._states}
        for state in self._states:
            followed = by_key.get(state.row.follows or "")
            if followed is None or followed.loaded is None:
                continue
            for name, why in list(followed.names.items()):
                if name not in state.followed:
                    state.followed.add(name)
                    self._load(state, f"{followed.row.what} {name} loaded ({why})")
                    self._name(state, name, f"{followed.row.what} {name} ({why})")

    def _drain(self) -> list[Need]:
        """What became needed: the names of every loaded set not asked for yet."""
        self._follow()
        needs: list[Need] = []
        for state in self._states:
            if state.loaded is None:
                continue
            row, catalog = state.row, state.catalog
            if not state.done_always:
                state.done_always = True
                for name, why in row.env_default:
                    self._name(state, name, why)
                needs += [Need(p, f"{row.what}s: {why} ({state.loaded})", optional=True, rule=row.key)
                          for p, why in catalog.always()]
            if any(n not in state.done_names for n in state.names):
                state.done_names.update(state.names)
                for p, name, why in catalog.files(list(state.names)):
                    if p not in state.done_paths:
                        state.done_paths.add(p)
                        what = f"{row.what} {name.rstrip('/')}" + (f": {why}" if why else "")
                        needs.append(Need(p, f"{what} ({state.names[name]}; {state.loaded})", optional=True,
                                          recursive=True, rule=row.key))
            if state.everything is not None and not state.done_everything:
                state.done_everything = True
                needs += [Need(p, f"all {row.what}s: {state.everything}", optional=True, recursive=True,
                               rule=row.key) for p in catalog.everything()]
        return needs


class _LazyCatalog(Catalog):
    """A row's catalog, made the first time it is asked anything (most images use few rows)."""

    def __init__(self, row: DataSet, view: ImageView) -> None:
        self._row = row
        self._view = view
        self._made: Catalog | None = None

    @property
    def _catalog(self) -> Catalog:
        if self._made is None:
            self._made = self._row.catalog(self._view)
        return self._made

    def directories(self) -> list[str]:
        return self._catalog.directories()

    def name(self, word: str) -> str | None:
        return self._catalog.name(word)

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return self._catalog.files(names)

    def always(self) -> list[tuple[str, str]]:
        return self._catalog.always()

    def everything(self) -> list[str]:
        return self._catalog.everything()

    def config_files(self) -> list[str]:
        return self._catalog.config_files()

    def glued(self, data: bytes) -> list[str]:
        return self._catalog.glued(data)
