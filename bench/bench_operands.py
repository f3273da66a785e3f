#!/usr/bin/env python3
"""What keeping the paths commands name costs: each image traced with and without the rule.

The rule (slimmer/trace/operands.py, and the paths a shell tests, reads or writes) keeps the
existing files and directories in command arguments, and the entries of directories that `ls`,
`find`, `cp -r`, `du` and `tar` read. This prints, per image, what the trace keeps with the rule
and without it: paths and bytes, and of the bytes added, how many the app touches when its
strace truth is at hand (fixtures/strace_truth.py; `--truth` to take it, which runs the app).

    .venv/bin/python bench/bench_operands.py                   # the bundled samples present
    .venv/bin/python bench/bench_operands.py IMAGE... --truth  # images by name
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

from slimmer.analysis import open_analysis
from slimmer.rootfs.entry import EntryType
from slimmer.trace import commands, shellcode
from slimmer.trace.roots import run_spec
from slimmer.trace.session import trace_image
from slimmer.trace.shell import UseKind

import build_samples
import strace_truth

SAMPLES = ["c-app", "sh-app", "hooks-app", "nginx", "postgres", "redis"]


@contextmanager
def without_path_operands() -> Iterator[None]:
    """The tracer as it would be without the rule: no argument paths, no shell-opened paths."""
    use_needs = shellcode.ShellCode._use_needs

    def commands_only(self: shellcode.ShellCode, use, reason, requester):  # type: ignore[no-untyped-def]
        return [] if use.kind in (UseKind.READ, UseKind.WRITE) else use_needs(self, use, reason, requester)

    with mock.patch.object(commands, "operand_needs", lambda *args: []), \
            mock.patch.object(shellcode.ShellCode, "_use_needs", commands_only):
        yield


def kept(reference: str) -> tuple[dict[str, int], dict[str, int]]:
    """(path -> size) kept with the rule and without it."""
    with open_analysis(reference) as opened:
        spec = run_spec(opened.image.config)
        sizes = []
        for rule in (True, False):
            if rule:
                keep = trace_image(opened.fs, spec).keep
            else:
                with without_path_operands():
                    keep = trace_image(opened.fs, spec).keep
            sizes.append({p: _size(opened.fs, p) for p in keep.reasons})
        return sizes[0], sizes[1]


def _size(fs, path: str) -> int:  # type: ignore[no-untyped-def]
    entry = fs.get(path)
    if entry is None:
        return 0
    return entry.size if entry.type is EntryType.FILE else len(entry.link) if entry.type is EntryType.SYMLINK else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="sample names or image references")
    parser.add_argument("--truth", action="store_true", help="take each sample's strace truth (runs it)")
    args = parser.parse_args()
    names = args.images or [n for n in SAMPLES if n in build_samples.sample_names()]
    print(f"{'image':<12} {'paths':>6} {'bytes':>11} {'+paths':>7} {'+bytes':>9} {'+touched':>9}  added")
    for name in names:
        reference = build_samples.image_tag(name) if name in build_samples.sample_names() else name
        if name in build_samples.sample_names():
            build_samples.ensure_sample(name)
        with_rule, without = kept(reference)
        added = {p: s for p, s in with_rule.items() if p not in without}
        touched = "-"
        if args.truth and name in build_samples.sample_names():
            truth = {f["path"] for f in strace_truth.truth(name)["files"]}
            touched = str(sum(s for p, s in added.items() if p in truth))
        shown = ", ".join(sorted(added)[:6]) + (" ..." if len(added) > 6 else "")
        print(f"{name:<12} {len(with_rule):>6} {sum(with_rule.values()):>11} {len(added):>7} "
              f"{sum(added.values()):>9} {touched:>9}  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
