"""The Perl plug-in: the `perl` program handler and the tracer of Perl code and XS objects.

A `perl` command line (ENTRYPOINT, `#!` line, a shell script's command) gives the program's
`@INC`: `-I`, `PERL5LIB`, then the interpreter's compiled-in list. The script is kept with
the role "perl"; the tracer then reads each Perl file once and keeps what its statements load,
searched in that `@INC` (plus its `use lib` directories), transitively: modules get the role
too, and XS objects (`auto/Foo/Bar/Bar.so`) the role "perl-xs", so the ELF tracer follows
their libraries and this tracer their implicit `attributes` module.

A `require` under a condition this perl decides waits for it (conditions.py): under
`${^TAINT}` for a perl command line with `-T`/`-t`, under a module's option for another Perl
file that names the option; one that never runs here (`$^O eq 'MSWin32'`) is not followed.
perl's compiled-in /bin/sh is kept here, for the code that runs a command string through it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.commands import ArgvHandler, CommandResolver
from slimmer.trace.elf.reader import ElfError, parse_elf, read_strings
from slimmer.trace.namedfiles import named_files
from slimmer.trace.paths.commandlines import SHELL
from slimmer.trace.perl.cmdline import parse_perl_args
from slimmer.trace.perl.conditions import TAINT, Guard, declared_options
from slimmer.trace.perl.implicit import implicit_loads
from slimmer.trace.perl.inc import Inc, compiled_inc, core_dirs, environment_dirs
from slimmer.trace.perl.source import PerlSource
from slimmer.trace.perl.statements import FINDBIN_VARIABLES, Load, scan

ROLE = "perl"
XS_ROLE = "perl-xs"
# xsubpp's `ATTRS:` makes an XS object call this at boot, and perl then loads attributes.pm.
_ATTRIBUTES_IMPORT = "Perl_apply_attrs_string"
_LOAD_MODULE_IMPORTS = frozenset({"Perl_load_module", "Perl_load_module_nocontext", "Perl_require_pv"})
_MODULE_STRING = re.compile(rb"\0([A-Z][A-Za-z0-9_]*(?:::[A-Za-z0-9_]+)*)(?=\0)")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class _Waiting:
    """A guarded load, followed once its trigger is met by other code than its own."""

    load: Load
    inc: Inc
    where: str  # the code whose own mentions do not meet the trigger
    warn_to: str | None
    what: str | None = None  # how the reason names the load, when not by its statement


class PerlTracer:
    """Handler for `perl` command lines and tracer for the files they load."""

    name = "perl"

    def __init__(self, resolver: CommandResolver) -> None:
        self.resolver = resolver
        self._inc_of: dict[str, Inc] = {}  # real path of a kept Perl file -> @INC it is run with
        self._compiled: dict[str, tuple[str, ...]] = {}  # real path of an interpreter -> its @INC
        self._waiting: dict[str, list[_Waiting]] = {}  # trigger -> the loads waiting for it
        self._met: dict[str, dict[str, str]] = {}  # trigger -> the first two codes that met it -> how
        self._guarded: dict[str, dict[str, Load]] = {}  # Perl file -> module -> its guarded load there
        self._xs_of: dict[str, str] = {}  # real path of an XS object -> the Perl file that loads it

    def handlers(self) -> dict[str, ArgvHandler]:
        return {"perl": self.run_perl}

    # -- the program handler --

    def run_perl(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        """`perl [switches] [--] [PROGRAM | -e CODE] [ARGS]`."""
        ctx = resolver.ctx
        interpreter = resolver.find(argv[0], cwd)
        if interpreter is None:
            return []
        command = parse_perl_args(argv[1:], ctx.env.get("PERL5OPT", ""))
        inc = self._inc(interpreter, command.include)
        found: list[Need] = self._meet(TAINT, f"perl runs with -T ({reason})", "") if command.taint else []
        for module in command.modules:
            found += self._load(Load(module, 0, "-M"), inc, f"the perl command line ({reason})", None)
        if command.code:
            return found + self._code_needs("\n".join(command.code), f"perl -e ({reason})", None, inc)
        if command.program is None:
            return found
        script = resolver.find(command.program, cwd) if command.search_path else \
            posixpath.normpath(posixpath.join(cwd, command.program))
        if script is None:
            ctx.warn(None, f"perl -S {command.program}: not found in PATH ({reason})")
            return found
        real = resolver.real_path(script)
        self._inc_of.setdefault(real, Inc(inc.dirs, posixpath.dirname(real), inc.core))
        return found + [Need(script, f"script run by perl ({reason})", role=ROLE)]

    # -- the file tracer --

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        role = ctx.roles.get(path)
        if role == ROLE:
            text = ctx.fs.read(entry).decode("utf-8", "surrogateescape")
            return self._code_needs(text, path, path, self._inc_of.get(path) or self._default_inc())
        if role == XS_ROLE:
            return self._xs_object_needs(path, entry, ctx)
        return []

    def _code_needs(self, text: str, where: str, requester: str | None, inc: Inc) -> list[Need]:
        ctx = self.resolver.ctx
        source = PerlSource.parse(text)
        statements = scan(source)
        lib_dirs = [self._lib_dir(directory, inc) for directory, _ in statements.lib_dirs]
        inc = inc.with_lib(lib_dirs)  # `use lib` changes @INC for everything loaded after it
        quiet = inc.in_core(where)
        warn_to = None if quiet else requester or ""
        found: list[Need] = []
        # a module's own options (its package defaults) are named in it for itself, not set
        for word in {w.lower() for w in _IDENTIFIER.findall(source.code)} - declared_options(source.code):
            found += self._meet(word, f"named in {where}", where)
        self._guarded[where] = {load.name: load for load in statements.loads if load.guard is not None}
        for load in statements.loads:
            if load.guard is None:
                found += self._load(load, inc, where, warn_to)
            elif load.guard.trigger is not None:
                found += self._wait(load.guard.trigger, _Waiting(load, inc, where, warn_to))
        for module, line, why in implicit_loads(source):
            found += self._load(Load(module, line, "implicit"), inc, where, warn_to,
                                f"{module}, loaded by perl for {why},")
        for module, line in statements.xs_modules:
            found += self._xs_object(module, line, inc, where, warn_to)
        if any(load.name == "AutoLoader" for load in statements.loads):
            found += self._autosplit(statements.packages, inc, where)
        # perl's own library runs programs only as fallbacks and for people at a terminal (a pager,
        # infocmp, pwd when getcwd fails): they are not followed.
        for run in [] if quiet else statements.runs:
            argv = list(run.argv) if run.argv else [SHELL, "-c", run.shell or ""]
            found += self.resolver.needs(argv, f"run by {run.how} at {where}:{run.line}", ctx.cwd, requester)
        built = [] if quiet else [d for d in statements.dynamic if d.runs]
        if built:
            found.append(Need(SHELL, f"the shell perl runs a command string with metacharacters through "
                                     f"(command built at run time at {where}:{built[0].line})", optional=True))
        found += named_files(ctx.fs, source.code, where)
        if statements.dynamic and not quiet:
            lines = ", ".join(f"{d.line} ({d.text[:60]})" for d in statements.dynamic)
            ctx.warn(requester, f"{where}: Perl code names what it loads or runs at run time, line {lines}")
        return found

    def _wait(self, trigger: str, waiting: _Waiting) -> list[Need]:
        """A guarded load: followed now when other code met its trigger already, else later."""
        how = next((how for by, how in self._met.get(trigger, {}).items() if by != waiting.where), None)
        if how is not None:
            return self._release(waiting, how)
        self._waiting.setdefault(trigger, []).append(waiting)
        return []

    def _meet(self, trigger: str, how: str, by: str) -> list[Need]:
        """`by` (a Perl file or command line) meets `trigger`: the loads of other code waiting for it."""
        met = self._met.setdefault(trigger, {})
        if len(met) < 2:  # one of two differs from any waiting code
            met.setdefault(by, how)
        waiting = self._waiting.pop(trigger, [])
        mine = [w for w in waiting if w.where == by]
        if mine:
            self._waiting[trigger] = mine
        return [need for w in waiting if w.where != by for need in self._release(w, how)]

    def _release(self, waiting: _Waiting, how: str) -> list[Need]:
        load = waiting.load
        guard = load.guard
        when = f", run as {guard.condition} holds ({how})" if guard else ""
        return self._load(load, waiting.inc, waiting.where, waiting.warn_to, waiting.what, when)

    def _load(self, load: Load, inc: Inc, where: str, warn_to: str | None, what: str | None = None,
              when: str = "") -> list[Need]:
        """The file a `use`/`require`/`do` loads: the first match in @INC. `warn_to` is the file a
        missing module is reported for ("" for a command line), None for no report; `when` is the
        condition it ran under."""
        what = what or f"{load.how} {load.name}"
        at = f"{where}:{load.line}" if load.line else where
        if load.glob:
            return self._candidates(load.name, inc, f"candidate for {what} at {at}")
        relative = load.name if load.is_file else load.name.replace("::", "/") + ".pm"
        path = self._find(relative, inc)
        if path is None:
            if not load.optional and warn_to is not None:
                self.resolver.ctx.warn(warn_to or None, f"{at}: {what} not found in @INC")
            return []
        self._inc_of.setdefault(self.resolver.real_path(path), inc)
        return [Need(path, f"{what} at {at}{when}", role=ROLE)]

    def _candidates(self, pattern: str, inc: Inc, reason: str) -> list[Need]:
        """Every file of @INC a run-time name could pick (the first of each name, as perl would)."""
        cwd = self.resolver.ctx.cwd
        chosen: dict[str, str] = {}
        for directory in inc.dirs:
            base = posixpath.normpath(posixpath.join(cwd, directory))
            for path in self.resolver.ctx.fs.glob(posixpath.join(base, pattern)):
                if self._is_file(path):
                    chosen.setdefault(posixpath.relpath(path, base), path)
        for path in chosen.values():
            self._inc_of.setdefault(self.resolver.real_path(path), inc)
        return [Need(path, reason, role=ROLE) for path in chosen.values()]

    def _find(self, relative: str, inc: Inc) -> str | None:
        cwd = self.resolver.ctx.cwd
        if relative.startswith(("/", "./", "../")):
            candidates = [posixpath.normpath(posixpath.join(cwd, relative))]
        else:
            candidates = [posixpath.normpath(posixpath.join(cwd, d, relative)) for d in inc.dirs]
        return next((c for c in candidates if self._is_file(c)), None)

    def _xs_object(self, module: str, line: int, inc: Inc, where: str, warn_to: str | None) -> list[Need]:
        """XSLoader looks beside the module's own .pm first, then DynaLoader searches @INC."""
        parts = module.split("::")
        relative = posixpath.join("auto", *parts, parts[-1] + ".so")
        own = [d for d in inc.dirs if where.startswith(d.rstrip("/") + "/")]
        path = self._find(relative, Inc((*own, *inc.dirs)))
        if path is None:
            if warn_to is not None:
                self.resolver.ctx.warn(warn_to or None, f"{where}:{line}: XS object {relative} of {module} not found")
            return []
        real = self.resolver.real_path(path)
        self._inc_of.setdefault(real, inc)
        self._xs_of.setdefault(real, where)
        return [Need(path, f"XS object of {module}, loaded at {where}:{line}", role=XS_ROLE)]

    def _xs_object_needs(self, path: str, entry: Entry, ctx: TraceContext) -> list[Need]:
        try:
            info = parse_elf(lambda off, size: ctx.fs.read(entry, size, off), entry.size)
        except (ElfError, ValueError):
            return []
        inc = self._inc_of.get(path) or self._default_inc()
        found: list[Need] = []
        if _ATTRIBUTES_IMPORT in info.undefined:
            found += self._load(Load("attributes", 0, "implicit"), inc, path, path,
                                "attributes, loaded by perl for the attributes of the XS subroutines,")
        if _LOAD_MODULE_IMPORTS & info.undefined:
            # It loads modules by name (PerlIO::encoding loads Encode): the names among its strings.
            read_at = lambda off, size: ctx.fs.read(entry, size, off)  # noqa: E731
            owner = self._xs_of.get(path, "")
            names = [raw.decode("ascii") for raw in dict.fromkeys(read_strings(read_at, info, _MODULE_STRING))]
            for name in names:
                what = f"{name}, named in an XS object that loads modules by name,"
                guard = self._xs_guard(path, owner, name, names)
                if guard is None:
                    found += self._load(Load(name, 0, "implicit"), inc, path, None, what)
                elif guard.trigger is not None:
                    waiting = _Waiting(Load(name, 0, "implicit", guard=guard), inc, owner, None, what)
                    found += self._wait(guard.trigger, waiting)
        return found

    def _xs_guard(self, path: str, owner: str, module: str, names: list[str]) -> Guard | None:
        """The condition an XS object loads `module` under: the one its Perl code loads it under
        (Data::Dumper's `$s->{deparse}`), or its own package's variable named as the module ends
        (Storable.so reads `$Storable::Deparse` and loads B::Deparse: an option of its users)."""
        guarded = self._guarded.get(owner, {}).get(module)
        if guarded is not None:
            return guarded.guard
        package = "::".join(posixpath.dirname(path.partition("/auto/")[2]).split("/"))
        variable = f"{package}::{module.rpartition('::')[2]}"
        if package and module.rpartition("::")[0] not in ("", package) and variable in names:
            return Guard(variable.rpartition("::")[2].lower(), f"${variable}")
        return None

    def _autosplit(self, packages: list[str], inc: Inc, where: str) -> list[Need]:
        """AutoLoader reads auto/PACKAGE/autosplit.ix and the .al files of the subroutines it calls."""
        found = []
        for package in packages:
            directory = self._find_dir(posixpath.join("auto", *package.split("::")), inc)
            if directory:
                found.append(Need(directory, f"AutoLoader files of {package} ({where})", recursive=True))
        return found

    def _find_dir(self, relative: str, inc: Inc) -> str | None:
        for directory in inc.dirs:
            candidate = posixpath.normpath(posixpath.join(self.resolver.ctx.cwd, directory, relative))
            entry = self._lookup(candidate)
            if entry is not None and entry.type is EntryType.DIR:
                return candidate
        return None

    def _lib_dir(self, directory: str, inc: Inc) -> str:
        """`use lib "$FindBin::Bin/../lib"`: FindBin's variables are the script's directory."""
        if inc.script_dir is not None:
            directory = FINDBIN_VARIABLES.sub(inc.script_dir, directory)
        return posixpath.normpath(posixpath.join(self.resolver.ctx.cwd, directory))

    def _compiled_inc(self, interpreter: str) -> tuple[str, ...]:
        real = self.resolver.real_path(interpreter)
        if real not in self._compiled:
            self._compiled[real] = compiled_inc(self.resolver.ctx.fs, real)
        return self._compiled[real]

    def _inc(self, interpreter: str | None, include: list[str]) -> Inc:
        """`-I` dirs, PERL5LIB, then what the interpreter has compiled in."""
        compiled = self._compiled_inc(interpreter) if interpreter else ()
        return Inc((*include, *environment_dirs(dict(self.resolver.ctx.env)), *compiled),
                   core=core_dirs(self.resolver.ctx.fs, compiled))

    def _default_inc(self) -> Inc:
        """For a Perl file reached without a perl command line: the @INC of `perl` in PATH."""
        return self._inc(self.resolver.find("perl"), [])

    def _lookup(self, path: str) -> Entry | None:
        try:
            return self.resolver.ctx.fs.lookup(path)
        except SymlinkLoopError:
            return None

    def _is_file(self, path: str) -> bool:
        entry = self._lookup(path)
        return entry is not None and entry.type is EntryType.FILE
