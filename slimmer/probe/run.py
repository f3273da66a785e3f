"""The traced run: the fat image started once as the user runs it, with strace in front.

A batch program runs its command to the end (or to the time limit); a service is exercised as
its verify spec says (ready check, clients, STOPSIGNAL), by the same `ServiceRun` that
verification uses, and once ready its HEALTHCHECK runs once under strace inside it (Docker runs
the check there, so the image must hold what it uses). Either way the container runs the image
unchanged, with `--cap-add SYS_PTRACE` (not privileged), the tracer bundle mounted read-only and
a writable folder for the trace, and every container and volume it makes is labelled and
removed (`Scope`). strace is the container's first process and blocks the signals Docker sends
it, so the stop signal goes to the program it started, from inside (`TracerBundle.signal_command`):
the program shuts down traced, strace writes out its trace and exits with the program's status.
"""

from __future__ import annotations

import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slimmer.errors import SlimError
from slimmer.image import daemon
from slimmer.image.daemon import one_line
from slimmer.probe.bundle import MOUNT_POINT, TracerBundle, make_bundle
from slimmer.probe.stracelog import TRACE_ARGS
from slimmer.service.run import ServerOptions, ServiceRun
from slimmer.service.scope import open_scope
from slimmer.service.spec import VerifySpec

OUTPUT_MOUNT = "/.slimmer-probe-out"
TRACE_FILE = "trace.log"
HEALTH_TRACE_FILE = "health.log"
GRACE_SECONDS = 10.0  # after the stop signal at the time limit, before the kill
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class ProbeRun:
    command: str  # the command line that ran, as the reasons name it
    traces: tuple[str, ...]  # strace's outputs: the run's, then the health check's (each its own processes)
    outcome: str  # how the run went, one sentence


def run_probe(image: str, argv: list[str], spec: VerifySpec, workdir: Path, timeout: float,
              healthcheck: list[str] | None = None) -> ProbeRun:
    """Run `argv` (the container's whole command line) in `image` under strace; for a service,
    `healthcheck` (the argv Docker runs for the image's HEALTHCHECK) too."""
    client = connect()
    bundle = make_bundle(workdir / "probe-tracer")
    output = workdir / "probe-output"
    output.mkdir()
    output.chmod(0o777)  # the image's USER writes the trace
    tracer = bundle.command([*TRACE_ARGS, "-o", f"{OUTPUT_MOUNT}/{TRACE_FILE}", "--", *argv])
    extra = {"cap_add": ["SYS_PTRACE"], "mounts": _mounts(bundle.directory, output)}
    with open_scope(client) as scope:
        if spec.is_service:
            server = ServerOptions(tracer[:1], tracer[1:], extra)
            how = _run_service(TracedServiceRun(bundle, scope, image, image, spec, server, timeout), healthcheck)
        else:
            container = scope.create_container("probe", "probe", image, entrypoint=tracer[:1], command=tracer[1:],
                                               environment=list(spec.env), network_mode="none", **extra)
            how = _run_batch(container, bundle, timeout)
    trace_file = output / TRACE_FILE
    if not trace_file.is_file():
        raise SlimError(f"--probe: the traced run of {image} wrote no trace ({how})")
    traces = [path.read_text("utf-8", "surrogateescape") for path in (trace_file, output / HEALTH_TRACE_FILE)
              if path.is_file()]
    return ProbeRun(shlex.join(argv), tuple(traces), how)


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


def _run_service(run: TracedServiceRun, healthcheck: list[str] | None) -> str:
    """Exercise the service, with its health check run once under strace when it is ready; how
    it went, in words."""
    checked: list[int | None] = []

    def check_health() -> None:
        if healthcheck:
            argv = run.bundle.command([*TRACE_ARGS, "-o", f"{OUTPUT_MOUNT}/{HEALTH_TRACE_FILE}", "--", *healthcheck])
            checked.append(_run_inside(run.server, argv, run.timeout))

    outcome = run.exercise(check_health)
    clients = ", ".join(f"`{command}` {result.describe_exit()}" for command, result in outcome.clients)
    health = "".join(f"; HEALTHCHECK under strace: {_described(code)}" for code in checked)
    return (f"service run: {outcome.readiness.detail}{health}; clients: {clients or 'none run'}; "
            f"stopped with {outcome.stop_signal}: {outcome.stopped.describe_exit()}")


class TracedServiceRun(ServiceRun):
    """A service run whose server is strace: the stop signal goes to the program it started."""

    def __init__(self, bundle: TracerBundle, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bundle = bundle

    def send_stop_signal(self) -> None:
        if not _signal_traced(self.server, self.bundle, self.stop_signal, self.timeout):
            super().send_stop_signal()


def _signal_traced(container: Any, bundle: TracerBundle, name: str, timeout: float) -> bool:
    """Send signal `name` to the program strace started in `container`; False if it could not be."""
    number = signal_number(name)
    command = bundle.signal_command(number) if number is not None else None
    return command is not None and _run_inside(container, command, timeout, user="0") == 0


def signal_number(name: str) -> int | None:
    """A signal as Docker names it (`SIGTERM`, `TERM`, `15`, `SIGRTMIN+3`) as its number here."""
    bare = name.upper().removeprefix("SIG")
    if bare.isdigit():
        return int(bare)
    base, sign, offset = bare.partition("+") if "+" in bare else bare.partition("-")
    number = getattr(signal, f"SIG{base}", None)
    if not isinstance(number, int) or (sign and not offset.isdigit()):
        return None
    return int(number) + (int(offset) if sign == "+" else -int(offset) if sign else 0)


def _run_inside(container: Any, argv: list[str], timeout: float, user: str = "") -> int | None:
    """Run `argv` in the running container as Docker runs a health check (its env and working
    directory, its user unless `user` says); its exit code, None if it could not run or was still
    running after `timeout`."""
    api = container.client.api
    try:
        execution = api.exec_create(container.id, argv, user=user)["Id"]
        api.exec_start(execution, detach=True)
        deadline = time.monotonic() + timeout
        while (state := api.exec_inspect(execution))["Running"] and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
    except Exception:
        return None
    return None if state["Running"] else state["ExitCode"]


def _described(exit_code: int | None) -> str:
    return f"exit code {exit_code}" if exit_code is not None else "no exit code (could not run, or ran too long)"


def _run_batch(container: Any, bundle: TracerBundle, timeout: float) -> str:
    """Run to the end; at the time limit, SIGTERM to the program (it ends traced), then the kill."""
    import requests

    try:
        container.start()
    except Exception as e:
        raise SlimError(f"--probe: cannot start the traced container: {one_line(e)}") from None
    try:
        return f"exit code {container.wait(timeout=timeout)['StatusCode']}"
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        try:
            if not _signal_traced(container, bundle, "SIGTERM", GRACE_SECONDS):
                container.kill(signal="SIGTERM")
            container.wait(timeout=GRACE_SECONDS)
        except Exception:
            pass  # still running: the scope removes it by force
        return f"stopped at the time limit ({timeout:g} s)"
