"""The differences between a probe run and the static closure, as data.

Two lists drive the tracers' improvement: files and directories the run used that static
tracing did not keep (grouped by the tracer that should have found them: the one for the
program that touched them, else the ELF or the data rules by the file's kind; each with the
Debian package that installed it; a directory is listed unless a statically kept file is in
it), and files static tracing kept that the run never touched (grouped by the rule that kept
them, largest first). The second list is not a list of mistakes: a probe sees one run, static
tracing keeps every path.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.probe.touched import Touch
from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.filekind import FileKind, shebang
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.closure import KeepSet, TraceContext
from slimmer.trace.commands import ArgvHandler, CommandResolver
from slimmer.trace.dpkg.database import DpkgDatabase

# The package of a program handler (slimmer.trace.<package>...) names the tracer of its language;
# the program table's own handlers are named by their module.
_TRACER_OF_MODULE = {"slimmer.trace.programs.shells": "shell", "slimmer.trace.programs.wrappers": "wrapper",
                     "slimmer.trace.programs.dispatchers": "dispatcher"}


@dataclass
class ProbeDifferences:
    command: str
    outcome: str
    touched: int  # image paths the run touched
    missed: dict[str, list[dict]] = field(default_factory=dict)  # tracer -> files the probe added
    unused: dict[str, list[dict]] = field(default_factory=dict)  # rule -> statically kept, never touched

    def to_json(self) -> dict:
        return {"command": self.command, "outcome": self.outcome, "touched": self.touched,
                "missed_by_static": [{"tracer": t, "files": files} for t, files in self.missed.items()],
                "kept_not_touched": [{"rule": r, "bytes": sum(f["size"] for f in files), "files": files}
                                     for r, files in self.unused.items()]}

    def render(self) -> str:
        lines = [f"probe: {self.command} ({self.outcome}): {self.touched} paths of the image touched"]
        missed = sum(len(files) for files in self.missed.values())
        lines.append(f"touched by the probe, not found by static tracing: {missed}")
        for tracer, files in self.missed.items():
            lines.append(f"  {tracer}:")
            lines += [f"    {_shown(f)}  ({_HOW_SAID[f['how']]} by {f['program'] or 'the container start'}"
                      + (f"; package {f['package']})" if f["package"] else ")") for f in files]
        unused = sum(len(files) for files in self.unused.values())
        unused_bytes = sum(f["size"] for files in self.unused.values() for f in files)
        lines.append(f"kept by static tracing, never touched by the probe: {unused} files, {unused_bytes} bytes")
        for rule, files in self.unused.items():
            lines.append(f"  {rule}: {len(files)} files, {sum(f['size'] for f in files)} bytes")
            lines += [f"    {f['path']}  [{f['reason']}]" for f in files]
        return "\n".join(lines)


# How a path was touched (slimmer.probe.touched.Touch), in the words of the text report.
_HOW_SAID = {"exec": "run", "open": "opened", "stat": "looked at", "symlink": "followed", "enter": "entered",
             "change": "changed", "parent": "a path created or removed in it"}


def _shown(file: dict) -> str:
    """A directory with a trailing slash: it is kept as it is, without its contents."""
    return file["path"] + "/" if file["type"] == EntryType.DIR.value else file["path"]


def differences(static: KeepSet, ctx: TraceContext, resolver: CommandResolver, packages: DpkgDatabase,
                touched: dict[str, Touch], command: str, outcome: str) -> ProbeDifferences:
    fs = ctx.fs
    result = ProbeDifferences(command, outcome, len(touched))
    kept_dirs = {posixpath.dirname(path) for path in static.reasons}
    for path, touch in touched.items():
        entry = fs.get(path)
        if entry is None or path in static.reasons:
            continue
        if entry.type is EntryType.DIR and _has_kept_descendant(path, kept_dirs):
            continue  # parents of kept files are in the slim image anyway
        tracer = _tracer_for(resolver, ctx, path, touch)
        result.missed.setdefault(tracer, []).append(
            {"path": path, "type": entry.type.value, "size": entry.size if entry.type is EntryType.FILE else 0,
             "how": touch.how, "program": touch.program, "package": _package(packages, path)})
    for path, reason in static.reasons.items():
        entry = fs.get(path)
        if entry is None or entry.type is not EntryType.FILE or path in touched:
            continue
        result.unused.setdefault(static.rules.get(path, "root"), []).append(
            {"path": path, "size": entry.size, "reason": reason.text})
    result.unused = dict(sorted(result.unused.items(), key=lambda item: -sum(f["size"] for f in item[1])))
    return result


def _package(packages: DpkgDatabase, path: str) -> str | None:
    package = packages.owner(path)
    return package.name if package is not None else None


def _has_kept_descendant(directory: str, kept_dirs: set[str]) -> bool:
    prefix = directory.rstrip("/") + "/"
    return directory in kept_dirs or any(d.startswith(prefix) for d in kept_dirs)


def _tracer_for(resolver: CommandResolver, ctx: TraceContext, path: str, touch: Touch) -> str:
    """The tracer of the program's language (perl, shell, ...), else by what the file is."""
    handler = _language_handler(resolver, ctx, touch.program) if touch.program else None
    if handler is not None:
        module = handler.__module__
        return _TRACER_OF_MODULE.get(module, module.split(".")[2])
    entry = ctx.fs.get(path)
    if entry is not None and entry.type is EntryType.FILE and ctx.kind(entry) is FileKind.ELF:
        return "elf"
    return "data"


def _language_handler(resolver: CommandResolver, ctx: TraceContext, program: str) -> ArgvHandler | None:
    """The handler of the program that ran: a script's is its `#!` interpreter's (the hooks a
    shell script runs are the shell tracer's to find)."""
    try:
        entry = ctx.fs.lookup(program)
    except SymlinkLoopError:
        return None
    interpreter = shebang(ctx.fs, entry) if entry is not None and ctx.kind(entry) is FileKind.SCRIPT else None
    called = interpreter[0] if interpreter else program
    return resolver.handler_for(resolver.real_path(called), called)
