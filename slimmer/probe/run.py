"""The traced run: the fat image started once as the user runs it, with strace in front.

A batch program runs its command to the end (or to the time limit); a service is exercised as
its verify spec says (ready check, clients, STOPSIGNAL), by the same `ServiceRun` that
verification uses. Either way the container runs the image unchanged, with `--cap-add
SYS_PTRACE` (not privileged), the tracer bundle mounted read-only and a writable folder for the
trace, and every container and volume it makes is labelled and removed (`Scope`). strace is the
container's first process: a stop signal reaches it first and it passes the signal to the
program, then writes out its trace.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slimmer.errors import SlimError
from slimmer.image import daemon
from slimmer.image.daemon import one_line
from slimmer.probe.bundle import MOUNT_POINT, make_bundle
from slimmer.probe.stracelog import TRACE_ARGS
from slimmer.service.run import ServerOptions, ServiceRun
from slimmer.service.scope import open_scope
from slimmer.service.spec import VerifySpec

OUTPUT_MOUNT = "/.slimmer-probe-out"
TRACE_FILE = "trace.log"
GRACE_SECONDS = 10.0  # after the stop signal at the time limit, before the kill


@dataclass(frozen=True)
class ProbeRun:
    command: str  # the command line that ran, as the reasons name it
    trace: str  # strace's output
    outcome: str  # how the run went, one sentence


def run_probe(image: str, argv: list[str], spec: VerifySpec, workdir: Path, timeout: float) -> ProbeRun:
    """Run `argv` (the container's whole command line) in `image` under strace."""
    client = connect()
    bundle = make_bundle(workdir / "probe-tracer")
    output = workdir / "probe-output"
    output.mkdir()
    output.chmod(0o777)  # the image's USER writes the trace
    tracer = bundle.command([*TRACE_ARGS, "-o", f"{OUTPUT_MOUNT}/{TRACE_FILE}", "--", *argv])
    extra = {"cap_add": ["SYS_PTRACE"], "mounts": _mounts(bundle.directory, output)}
    with open_scope(client) as scope:
        if spec.is_service:
            run = ServiceRun(scope, image, image, spec, ServerOptions(tracer[:1], tracer[1:], extra), timeout)
            outcome = run.exercise()
            clients = ", ".join(f"`{command}` {result.describe_exit()}" for command, result in outcome.clients)
            how = (f"service run: {outcome.readiness.detail}; clients: {clients or 'none run'}; "
                   f"stopped with {outcome.stop_signal}")
        else:
            container = scope.create_container("probe", "probe", image, entrypoint=tracer[:1], command=tracer[1:],
                                               environment=list(spec.env), network_mode="none", **extra)
            how = _run_batch(container, timeout)
    trace_file = output / TRACE_FILE
    if not trace_file.is_file():
        raise SlimError(f"--probe: the traced run of {image} wrote no trace ({how})")
    return ProbeRun(shlex.join(argv), trace_file.read_text("utf-8", "surrogateescape"), how)


def connect() -> Any:
    """The daemon's client, or the error saying that --probe needs one."""
    try:
        return daemon.connect()
    except SlimError as e:
        raise SlimError(f"--probe runs the image and needs the Docker daemon: {e}") from None


def _mounts(bundle: Path, output: Path) -> list[Any]:
    from docker.types import Mount

    return [Mount(MOUNT_POINT, str(bundle), type="bind", read_only=True),
            Mount(OUTPUT_MOUNT, str(output), type="bind", read_only=False)]


def _run_batch(container: Any, timeout: float) -> str:
    """Run to the end; at the time limit, the stop signal (strace passes it on and writes its
    trace), then the kill."""
    import requests

    try:
        container.start()
    except Exception as e:
        raise SlimError(f"--probe: cannot start the traced container: {one_line(e)}") from None
    try:
        return f"exit code {container.wait(timeout=timeout)['StatusCode']}"
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        try:
            container.kill(signal="SIGTERM")
            container.wait(timeout=GRACE_SECONDS)
        except Exception:
            pass  # still running: the scope removes it by force
        return f"stopped at the time limit ({timeout:g} s)"
