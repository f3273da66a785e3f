"""`slim IMAGE`: the whole flow, source -> merged tree -> keep set -> one layer -> sink.

The source is only read; the output is written atomically by the sink, and under a name that
cannot be the source's (`NAME.slim:TAG` by default, as SlimToolkit names it).
"""

from __future__ import annotations

import json
import posixpath
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from slimmer.analysis import OpenedImage, open_analysis
from slimmer.errors import UsageError, VerifyFailed
from slimmer.image import daemon
from slimmer.image.atomic import atomic_file
from slimmer.image.digest import Digest
from slimmer.image.model import OutputImage
from slimmer.image.reference import ImageRef, Transport, explicit_tag, parse_reference, parse_tag
from slimmer.image.transports import parse_destination, write_image
from slimmer.pack.config import slim_config
from slimmer.pack.layer import write_layer
from slimmer.pack.verify import Comparison, compare
from slimmer.probe.differences import ProbeDifferences
from slimmer.probe.run import connect
from slimmer.probe.session import Probed, probe_trace
from slimmer.progress import QUIET, Progress
from slimmer.report import file_records, warning_records
from slimmer.service.run import ServerOptions
from slimmer.service.spec import VerifySpec
from slimmer.service.verify import Verification, log_tail, verify_service
from slimmer.trace.roots import RootOptions, RunSpec, run_spec
from slimmer.trace.session import TraceResult, trace_image


@dataclass(frozen=True)
class SlimOptions:
    output: str | None = None  # TRANSPORT:... of the result
    tag: str | None = None  # NAME:TAG in the daemon
    entrypoint: str | None = None
    cmd: str | None = None
    roots: RootOptions = RootOptions()
    exclude: tuple[str, ...] = ()
    report: Path | None = None
    verify: bool = False
    verify_cmds: tuple[str, ...] = ()
    verify_timeout: float = 60.0
    verify_spec: VerifySpec = field(default_factory=VerifySpec)  # env; a ready check or clients: a service
    probe: bool = False  # run the fat image under strace too and keep what it touches


@dataclass
class SlimResult:
    output: str  # where the result went, as a reference
    written: str  # the sink's description
    size_before: int
    size_after: int
    kept_files: int
    config_digest: Digest
    seconds: float
    trace: TraceResult
    comparisons: list[Comparison] = field(default_factory=list)
    server_log: bytes = b""  # the slim image's server log of a service verification
    probe: ProbeDifferences | None = None  # with --probe: what it found that static tracing did not, and back

    @property
    def ratio(self) -> float:
        return self.size_before / self.size_after if self.size_after else float("inf")


def default_output(source: ImageRef) -> str:
    """Beside the source, in the same transport, with `.slim` in the name."""
    if source.transport is Transport.DAEMON:
        named = explicit_tag(source.path)
        if named is None:
            raise UsageError(f"{source.path} has no tag to derive the output name from: "
                             "give --tag NAME:TAG or --output")
        return f"{Transport.DAEMON}:{named[0]}.slim:{named[1]}"
    if source.transport in (Transport.DOCKER_ARCHIVE, Transport.OCI_ARCHIVE):
        stem, ext = posixpath.splitext(source.path)
        return f"{source.transport}:{stem}.slim{ext or '.tar'}"
    return f"{Transport.OCI}:{source.path.rstrip('/')}.slim"


def output_reference(source: ImageRef, options: SlimOptions) -> str:
    if options.output and options.tag:
        raise UsageError("give either --output or --tag, not both")
    if options.tag:
        return f"{Transport.DAEMON}:{parse_tag(options.tag)}"
    return options.output or default_output(source)


def slim(source_text: str, options: SlimOptions, progress: Progress = QUIET) -> SlimResult:
    started = time.monotonic()
    if options.verify_cmds and options.verify_spec.is_service:
        raise UsageError("--verify-cmd runs the image as a command; a service is exercised with --verify-client")
    source = parse_reference(source_text)
    output = output_reference(source, options)
    destination = parse_destination(output)
    daemon_tag = destination.path if destination.transport is Transport.DAEMON else None
    with open_analysis(source_text, progress) as opened:
        spec = run_spec(opened.image.config, options.entrypoint, options.cmd)
        probed = probed_trace(opened, source_text, spec, options.roots, options.exclude, options.verify_spec,
                              options.verify_timeout, progress) if options.probe else None
        traced = probed.traced if probed else trace_image(opened.fs, spec, options.roots, options.exclude)
        packed = write_layer(opened.fs, traced.keep.reasons, opened.workdir / "slim-layer.tar")
        slim_image = OutputImage(slim_config(opened.image.config, opened.image.config_digest, packed.diff_id),
                                 [packed.blob], [daemon_tag] if daemon_tag else [])
        written = write_image(slim_image, destination, opened.workdir, progress, protect={source_text, str(source)})
        result = SlimResult(output=output, written=written, size_before=opened.merged.size, size_after=packed.size,
                            kept_files=len(traced.keep), config_digest=slim_image.config_digest,
                            seconds=0.0, trace=traced, probe=probed.differences if probed else None)
        if options.verify:
            try:
                verification = _verify(opened, source, daemon_tag, options, slim_image, progress)
            except VerifyFailed as e:
                raise VerifyFailed(f"{e}; the slim image stays at {output} for inspection", e.details) from None
            result.comparisons, result.server_log = verification.comparisons, verification.slim_log
        result.seconds = time.monotonic() - started
        if options.report:
            write_report(options.report, source_text, result, opened)
    failed = [c for c in result.comparisons if not c.same]
    if failed:
        details = "\n\n".join(f"$ {c.command}\n{c.diff()}" for c in failed)
        if result.server_log:
            details += "\n\n" + log_tail(result.server_log, "slim")
        raise VerifyFailed(f"--verify: the slim image behaves differently for {len(failed)} of "
                           f"{len(result.comparisons)} command(s); the slim image stays at {output} for inspection",
                           details)
    return result


def _verify(opened: OpenedImage, source: ImageRef, daemon_tag: str | None, options: SlimOptions,
            slim_image: OutputImage, progress: Progress) -> Verification:
    """Both images must be in the daemon to run: load whichever is not, under a temporary tag."""
    client = daemon.connect()
    temporary: list[str] = []
    try:
        original = _original_in_daemon(opened, source, progress, temporary)
        slim_name = daemon_tag or _load_temporary(slim_image, "slim", opened, progress, temporary)
        entrypoint = shlex.split(options.entrypoint) if options.entrypoint else None
        spec = options.verify_spec
        if spec.is_service:
            server = ServerOptions(entrypoint, shlex.split(options.cmd) if options.cmd is not None else None)
            return verify_service(client, original, slim_name, spec, server, options.verify_timeout)
        commands: list[list[str] | None] = [None] + [shlex.split(c) for c in options.verify_cmds]
        if options.cmd is not None:
            commands[0] = shlex.split(options.cmd)
        return Verification(compare(client, original, slim_name, commands, entrypoint, options.verify_timeout,
                                           spec.env), b"")
    finally:
        for tag in temporary:
            try:
                client.images.remove(tag)
            except Exception:
                pass  # best effort: a leftover temporary tag is harmless


def probed_trace(opened: OpenedImage, source_text: str, spec: RunSpec, roots: RootOptions,
                 exclude: tuple[str, ...], verify_spec: VerifySpec, timeout: float, progress: Progress) -> Probed:
    """Static tracing joined with a probe run of the original image (loaded into the daemon if
    it is not there, under a temporary tag removed afterwards)."""
    probe_client = connect()  # before anything is loaded into a daemon that is not there
    temporary: list[str] = []
    try:
        original = _original_in_daemon(opened, parse_reference(source_text), progress, temporary)
        return probe_trace(opened.fs, spec, roots, exclude, original, verify_spec, opened.workdir, timeout)
    finally:
        for tag in temporary:
            try:
                probe_client.images.remove(tag)
            except Exception:
                pass  # best effort: a leftover temporary tag is harmless


def _original_in_daemon(opened: OpenedImage, source: ImageRef, progress: Progress, temporary: list[str]) -> str:
    if source.transport is Transport.DAEMON:
        return source.path
    return _load_temporary(OutputImage(opened.image.config_bytes, opened.layer_tars), "original", opened, progress,
                           temporary)


def _load_temporary(image: OutputImage, what: str, opened: OpenedImage, progress: Progress,
                    temporary: list[str]) -> str:
    tag = f"slimmer-verify-{what}:{image.config_digest.hex[:12]}"
    write_image(OutputImage(image.config_bytes, image.layers, [tag]), f"{Transport.DAEMON}:{tag}", opened.workdir,
                progress)
    temporary.append(tag)
    return tag


def write_report(path: Path, source: str, result: SlimResult, opened: OpenedImage) -> None:
    traced = result.trace
    report = {
        "image": source,
        "output": result.output,
        "output_config_digest": result.config_digest,
        "sizes": {"before": result.size_before, "after": result.size_after},
        "seconds": round(result.seconds, 3),
        "files": file_records(opened.fs, traced.keep, traced.ctx, chains=True, packages=traced.packages),
        "warnings": warning_records(traced.keep),
        "excluded": traced.excluded,
        "probe": result.probe.to_json() if result.probe else None,
        "verify": [{"command": c.command, "same": c.same, "original_exit": c.original.exit_code,
                    "slim_exit": c.slim.exit_code} for c in result.comparisons],
    }
    with atomic_file(path) as f:
        f.write(json.dumps(report, indent=2, sort_keys=True).encode() + b"\n")
