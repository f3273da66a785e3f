"""One tracing run: the plug-ins wired together, from the run spec to the keep set."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from slimmer.rootfs.fs import RootFS
from slimmer.trace.closure import ANY_ARGUMENTS, KeepSet, Need, TraceContext, Tracer, close
from slimmer.trace.commands import CommandResolver
from slimmer.trace.datarules import DataRulesTracer
from slimmer.trace.dpkg import DpkgDatabase, PackageTracer
from slimmer.trace.elf.tracer import ElfTracer
from slimmer.trace.named import NamedDataTracer
from slimmer.trace.node.tracer import NodeTracer
from slimmer.trace.paths import CommandLinesTracer, CompiledPathsTracer, ConfigTracer, Readers
from slimmer.trace.perl.tracer import PerlTracer
from slimmer.trace.programs import PROGRAMS
from slimmer.trace.python import PythonTracer
from slimmer.trace.roots import RootOptions, RunSpec, roots
from slimmer.trace.scripts import ScriptTracer


@dataclass
class TraceResult:
    keep: KeepSet
    ctx: TraceContext  # what the tracers saw: content kinds, roles, warnings
    packages: DpkgDatabase  # the image's Debian packages (what the report names each kept file by)
    excluded: list[str] = field(default_factory=list)  # kept paths removed by --exclude


def make_tracers(ctx: TraceContext, packages: DpkgDatabase | None = None,
                 python_strict: bool = False) -> tuple[CommandResolver, list[Tracer]]:
    """The command resolver with every argv handler, and the file tracers, in a fixed order
    (`packages`: the image's dpkg database, read from `ctx.fs` when not given)."""
    packages = packages if packages is not None else DpkgDatabase(ctx.fs)
    elf = ElfTracer(cwd=ctx.cwd)
    resolver = CommandResolver(ctx)
    perl = PerlTracer(resolver)
    node = NodeTracer(ctx, elf)
    python = PythonTracer(strict=python_strict)
    resolver.handlers = {**PROGRAMS, **perl.handlers(), **node.handlers(), **python.handlers}
    readers = Readers(packages)
    return resolver, [elf, ScriptTracer(resolver), NamedDataTracer(elf), DataRulesTracer(elf), perl, node, python,
                      CompiledPathsTracer(elf, readers), ConfigTracer(readers), CommandLinesTracer(elf, resolver),
                      PackageTracer(packages, elf)]


def trace_image(fs: RootFS, spec: RunSpec, options: RootOptions = RootOptions(),
                exclude: tuple[str, ...] = ()) -> TraceResult:
    """Everything the container run by `spec` needs, minus what `exclude` removes."""
    ctx = TraceContext(fs=fs, env=spec.env, cwd=spec.cwd)
    packages = DpkgDatabase(fs)
    resolver, tracers = make_tracers(ctx, packages, options.python_strict)
    keep = close(roots(spec, fs, resolver, options), tracers, ctx)
    return TraceResult(keep, ctx, packages, apply_excludes(keep, exclude))


def trace_paths(fs: RootFS, paths: list[str], spec: RunSpec) -> TraceResult:
    """The closure of explicit files (`slim trace --from`), without the config's roots."""
    ctx = TraceContext(fs=fs, env=spec.env, cwd=spec.cwd)
    packages = DpkgDatabase(fs)
    _, tracers = make_tracers(ctx, packages)
    given = [Need(path, "given with --from", args=ANY_ARGUMENTS) for path in paths]  # as if run
    return TraceResult(close(given, tracers, ctx), ctx, packages)


def apply_excludes(keep: KeepSet, patterns: tuple[str, ...]) -> list[str]:
    """Drop kept paths matching a glob (on the whole path, or on a parent directory)."""
    if not patterns:
        return []
    excluded = [path for path in keep.reasons if any(_matches(path, p) for p in patterns)]
    for path in excluded:
        del keep.reasons[path]
    return sorted(excluded)


def _matches(path: str, pattern: str) -> bool:
    pattern = "/" + pattern.lstrip("/")
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.rstrip("/") + "/*")
