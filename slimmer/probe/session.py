"""Static tracing joined with one probe run: the keep set of both, and their differences.

The static closure is computed first (the differences are measured against it); the probe's
touched paths then join the roots with the reason `touched by probe: CMD`, and the closure runs
again so that what they need (a probe-found plug-in's libraries, its modules) is kept too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from slimmer.probe.differences import ProbeDifferences, differences
from slimmer.probe.run import run_probe
from slimmer.probe.stracelog import accesses
from slimmer.probe.touched import touched_paths
from slimmer.rootfs.fs import RootFS
from slimmer.service.spec import VerifySpec
from slimmer.trace.closure import Need
from slimmer.trace.roots import RootOptions, RunSpec
from slimmer.trace.session import TraceResult, make_tracers, trace_image


@dataclass
class Probed:
    traced: TraceResult  # static and probe together
    differences: ProbeDifferences


def probe_trace(fs: RootFS, spec: RunSpec, options: RootOptions, exclude: tuple[str, ...], image: str,
                verify_spec: VerifySpec, workdir: Path, timeout: float) -> Probed:
    """Trace statically, run `image` (in the daemon) under the probe, and trace both together."""
    static = trace_image(fs, spec, options)
    run = run_probe(image, spec.argv, verify_spec, workdir, timeout, spec.healthcheck)
    touched = touched_paths(fs, [access for trace in run.traces for access in accesses(trace, spec.cwd)])
    reason = f"touched by probe: {run.command}"
    probe_roots = tuple(Need(path, reason, optional=True) for path in touched)
    joined = trace_image(fs, spec, replace(options, extra=options.extra + probe_roots), exclude)
    resolver, _ = make_tracers(static.ctx)
    found = differences(static.keep, static.ctx, resolver, static.packages, touched, run.command, run.outcome)
    return Probed(joined, found)
