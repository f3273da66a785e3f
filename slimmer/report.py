"""Kept files as records: one per path with its type, size, reason, the rule that kept it, the
file that caused it and the Debian package it belongs to.

Shared by `slim trace --json`, `slim why` and the `--report` of `slim`.
"""

from __future__ import annotations

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import RootFS
from slimmer.trace.closure import KeepSet, TraceContext
from slimmer.trace.dpkg import DpkgDatabase


def file_records(fs: RootFS, keep: KeepSet, ctx: TraceContext | None = None, chains: bool = False,
                 packages: DpkgDatabase | None = None) -> list[dict]:
    """Sorted by path. `kind` (elf, script, ...) is given for regular files when a context can
    classify; `package` when the image's dpkg database says which one installed the path (for a
    directory: when exactly one package did)."""
    records = []
    for path in sorted(keep.reasons):
        entry = fs.get(path)
        assert entry is not None
        reason = keep.reasons[path]
        record: dict = {"path": path, "type": entry.type.value,
                        "size": entry.size if entry.type is EntryType.FILE else 0,
                        "reason": reason.text, "rule": keep.rules.get(path, "root"), "via": reason.via}
        if packages is not None:
            owner = packages.owner(path)
            record["package"] = owner.name if owner is not None else None
        if ctx is not None and entry.type is EntryType.FILE:
            record["kind"] = ctx.kind(entry).value
        if chains:
            record["chain"] = [step for step, _ in keep.chain(path)][1:]
        records.append(record)
    return records


def warning_records(keep: KeepSet) -> list[dict]:
    return [{"path": w.path, "message": w.message} for w in keep.warnings]


def render_trace(records: list[dict], keep: KeepSet) -> str:
    lines = [f"{r['path']}  [{r['reason']}]" + (f" <- {r['via']}" if r["via"] else "") for r in records]
    lines += [f"warning: {w.message}" + (f" (in {w.path})" if w.path else "") for w in keep.warnings]
    return "\n".join(lines)


def render_why(keep: KeepSet, path: str) -> str:
    """From the root down to `path`, one step per line."""
    steps = list(reversed(keep.chain(path)))
    lines = []
    for depth, (step, reason) in enumerate(steps):
        lines.append(f"{'  ' * depth}{step}: {reason.text}")
    return "\n".join(lines)
