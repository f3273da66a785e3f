"""A service run: start an image as a server, wait until it is ready, run the clients, stop it.

The server runs with no network; the ready check and the clients run in containers of a tools
image (the fat image, whose tools are there) that share the server's network namespace
(`--network container:<server>`), so they reach it on 127.0.0.1 and nothing else does. Each
VOLUME of the image gets a fresh labelled volume, so a database initialises itself as on a
first `docker run`. Readiness is, in order: the spec's `ready` command, the image's
HEALTHCHECK (run by Docker itself, at a short interval), the first listening TCP port.

Verification runs this once per image and compares; the probe runs it with a tracer
(`ServerOptions`) and reads the trace from the server before the scope removes it.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slimmer.errors import SlimError
from slimmer.image.daemon import one_line
from slimmer.pack.verify import RunResult, run_to_end, wait_or_kill
from slimmer.service.scope import Scope, uninterrupted
from slimmer.service.spec import VerifySpec

POLL_SECONDS = 0.5
HEALTH_INTERVAL_NS = 500_000_000  # the image's HEALTHCHECK, run this often while waiting
READY_ATTEMPT_SECONDS = 10.0  # one run of the ready command, at most
TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
TCP_LISTEN = "0A"  # the `st` column of /proc/net/tcp for a listening socket


@dataclass(frozen=True)
class ServerOptions:
    """How the server container differs from a plain `docker run IMAGE` (besides env and volumes)."""

    entrypoint: list[str] | None = None  # None: the image's
    command: list[str] | None = None  # None: the image's CMD (or none after an entrypoint override)
    extra: Mapping[str, Any] = field(default_factory=dict)  # more containers.create() options (cap_add, mounts)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    detail: str  # how it became ready, or why it did not


@dataclass(frozen=True)
class ServiceOutcome:
    """What one service run did: the part that verification compares, and the log it shows."""

    readiness: Readiness
    clients: list[tuple[str, RunResult]]  # (command line, its result), in spec order
    stop_signal: str
    stopped: RunResult  # the server's exit after the stop signal (exit_code None: killed at the limit)
    log: bytes  # the server's stdout and stderr, interleaved as Docker recorded them


class ServiceRun:
    """One server from `image`, exercised as `spec` says; every container it makes lives in `scope`."""

    def __init__(self, scope: Scope, image: str, tools_image: str, spec: VerifySpec,
                 options: ServerOptions = ServerOptions(), timeout: float = 60.0) -> None:
        self.scope = scope
        self.image = image
        self.tools_image = tools_image
        self.spec = spec
        self.options = options
        self.timeout = timeout  # each client, and the stop, at most this long
        self.config: dict[str, Any] = _image_config(scope.client, image)
        self.server: Any = None  # the server container once started

    @property
    def stop_signal(self) -> str:
        return self.config.get("StopSignal") or "SIGTERM"

    @property
    def healthcheck(self) -> list[str] | None:
        test = (self.config.get("Healthcheck") or {}).get("Test") or []
        return None if not test or test[0] == "NONE" else test

    def start(self) -> None:
        volumes = {self.scope.create_volume(f"volume{i}"): {"bind": path, "mode": "rw"}
                   for i, path in enumerate(sorted(self.config.get("Volumes") or {}))}
        options: dict[str, Any] = {"environment": list(self.spec.env), "network_mode": "none", "volumes": volumes,
                                   "entrypoint": self.options.entrypoint, "command": self.options.command}
        if self.spec.ready is None and self.healthcheck:
            health = self.config["Healthcheck"]
            options["healthcheck"] = {"test": self.healthcheck, "interval": HEALTH_INTERVAL_NS,
                                      "timeout": health.get("Timeout") or 30_000_000_000,
                                      "retries": health.get("Retries") or 3, "start_period": 0}
        options.update(self.options.extra)
        self.server = self.scope.create_container("server", "server", self.image, **options)
        try:
            with uninterrupted():
                self.server.start()
        except Exception as e:
            raise SlimError(f"cannot start a container of {self.image}: {one_line(e)}") from None

    def wait_ready(self) -> Readiness:
        """Poll the ready check until it passes, the server exits, or `spec.ready_timeout` passes."""
        deadline = time.monotonic() + self.spec.ready_timeout
        while True:
            exited = self._exit_code()
            if exited is not None:
                return Readiness(False, f"the server exited with code {exited} before it was ready")
            passed = self._ready_once(deadline)
            if passed:
                return Readiness(True, passed)
            if time.monotonic() >= deadline:
                return Readiness(False, f"{self._ready_description()} did not pass within "
                                        f"{self.spec.ready_timeout:g} s")
            time.sleep(POLL_SECONDS)

    def run_client(self, argv: tuple[str, ...], role: str = "client", timeout: float | None = None) -> RunResult:
        """Run `argv` in a tools container in the server's network namespace; kill it at the limit."""
        container = self.scope.create_container(
            role, role, self.tools_image, entrypoint=[argv[0]], command=list(argv[1:]),
            environment=list(self.spec.env), network_mode=f"container:{self.server.id}")
        try:
            return run_to_end(container, self.timeout if timeout is None else timeout)
        except SlimError:
            exited = self._exit_code()
            if exited is None:
                raise
            return RunResult(None, b"", b"", note=f"not run: the server had exited with code {exited}")
        finally:
            self.scope.discard(container)

    def stop(self) -> RunResult:
        """Send the image's STOPSIGNAL; the result is the server's exit code and its log."""
        if self._exit_code() is None:
            try:
                self.send_stop_signal()
            except Exception:
                pass  # it exited in between: its exit code says how
        exit_code = wait_or_kill(self.server, self.timeout)
        return RunResult(exit_code, b"", self.log())

    def send_stop_signal(self) -> None:
        """What `docker stop` does first: the STOPSIGNAL to the container's first process."""
        self.server.kill(signal=self.stop_signal)

    def log(self) -> bytes:
        try:
            return self.server.logs(stdout=True, stderr=True)
        except Exception:
            return b""

    def exercise(self, when_ready: Callable[[], None] | None = None) -> ServiceOutcome:
        """Start, wait until ready, call `when_ready` and run every client (if ready), stop."""
        self.start()
        readiness = self.wait_ready()
        clients = []
        if readiness.ready:
            if when_ready is not None:
                when_ready()
            for argv in self.spec.clients:
                if self._exit_code() is not None:
                    break  # the server is gone: the missing results show as a difference
                clients.append((shlex.join(argv), self.run_client(argv)))
        stopped = self.stop()
        return ServiceOutcome(readiness, clients, self.stop_signal, stopped, stopped.stderr)

    def _exit_code(self) -> int | None:
        """The server's exit code once it has exited, None while it runs."""
        self.server.reload()
        state = self.server.attrs["State"]
        return None if state.get("Running") or state.get("Status") == "created" else state.get("ExitCode", -1)

    def _ready_description(self) -> str:
        if self.spec.ready is not None:
            return f"the ready check `{shlex.join(self.spec.ready)}`"
        if self.healthcheck:
            return f"the image's HEALTHCHECK ({_health_text(self.healthcheck)})"
        return "waiting for a listening TCP port"

    def _ready_once(self, deadline: float) -> str | None:
        """One attempt of the ready check: a sentence saying how it passed, or None."""
        attempt = max(1.0, min(READY_ATTEMPT_SECONDS, deadline - time.monotonic()))
        if self.spec.ready is not None:
            result = self.run_client(self.spec.ready, role="ready", timeout=attempt)
            return f"the ready check `{shlex.join(self.spec.ready)}` passed" if result.exit_code == 0 else None
        if self.healthcheck:
            health = self.server.attrs["State"].get("Health") or {}
            return "the image's HEALTHCHECK reports healthy" if health.get("Status") == "healthy" else None
        result = self.run_client(("cat", *TCP_TABLES), role="ready", timeout=attempt)
        ports = listening_ports(result.stdout.decode("ascii", "replace"))
        return f"TCP port {ports[0]} is listening" if ports else None


def listening_ports(tables: str) -> list[int]:
    """Ports in LISTEN state in the text of /proc/net/tcp and tcp6, in order of appearance."""
    ports = []
    for line in tables.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == TCP_LISTEN and ":" in fields[1]:
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if port not in ports:
                ports.append(port)
    return ports


def _health_text(test: list[str]) -> str:
    return test[1] if test[0] == "CMD-SHELL" and len(test) > 1 else shlex.join(test[1:])


def _image_config(client: Any, image: str) -> dict[str, Any]:
    try:
        return client.images.get(image).attrs.get("Config") or {}
    except Exception as e:
        raise SlimError(f"cannot inspect {image} in the Docker daemon: {one_line(e)}") from None
