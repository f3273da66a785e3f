"""`--verify`: run the original and the slim image the same way and compare what they do.

Both run in the local Docker daemon with no network and a time limit; the exit code and
standard output must be identical. Standard error is shown on a mismatch but not compared
(it often carries timings and warnings that legitimately differ).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from slimmer.errors import SlimError
from slimmer.image.daemon import one_line
from slimmer.service.scope import open_scope, uninterrupted


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None when the time limit stopped it (or it never ran: see note)
    stdout: bytes
    stderr: bytes
    note: str = ""  # why there is no exit code, when it is not the time limit

    def describe_exit(self) -> str:
        if self.note:
            return self.note
        return "stopped at the time limit" if self.exit_code is None else f"exit code {self.exit_code}"


@dataclass(frozen=True)
class Comparison:
    command: str  # what was run, for the report
    original: RunResult
    slim: RunResult
    stdout_compared: bool = True  # False for a server's stop: its output is a log, shown but not compared

    @property
    def same(self) -> bool:
        return self.original.exit_code == self.slim.exit_code and (
            not self.stdout_compared or self.original.stdout == self.slim.stdout)

    def summary(self) -> str:
        """What agreed, for a passing comparison."""
        return f"same exit code ({self.original.describe_exit()})" + (" and stdout" if self.stdout_compared else "")

    def diff(self) -> str:
        lines = []
        if self.original.exit_code != self.slim.exit_code:
            lines.append(f"exit: original {self.original.describe_exit()}, slim {self.slim.describe_exit()}")
        if self.stdout_compared and self.original.stdout != self.slim.stdout:
            lines.extend(difflib.unified_diff(
                self.original.stdout.decode("utf-8", "replace").splitlines(),
                self.slim.stdout.decode("utf-8", "replace").splitlines(),
                "original stdout", "slim stdout", lineterm=""))
        if self.slim.stderr and not self.same:
            lines.append("slim stderr:")
            lines.extend("  " + line for line in self.slim.stderr.decode("utf-8", "replace").splitlines()[-20:])
        return "\n".join(lines)


def run_container(client, image: str, command: list[str] | None, entrypoint: list[str] | None,
                  timeout: float, env: tuple[str, ...] = ()) -> RunResult:
    """Run `image` once with no network; stop it at `timeout` seconds; leave nothing behind."""
    with open_scope(client) as scope:
        container = scope.create_container("command", "command", image, command=command, entrypoint=entrypoint,
                                           network_mode="none", environment=list(env))
        return run_to_end(container, timeout)


def run_to_end(container, timeout: float) -> RunResult:
    """Start a created container and wait for it; at `timeout` seconds it is killed (exit_code None)."""
    try:
        with uninterrupted():  # a start cut off halfway would still start it, after the clean-up looked
            container.start()
    except Exception as e:
        raise SlimError(f"cannot start {container.name}: {one_line(e)}") from None
    exit_code = wait_or_kill(container, timeout)
    return RunResult(exit_code, container.logs(stdout=True, stderr=False), container.logs(stdout=False, stderr=True))


def wait_or_kill(container, timeout: float) -> int | None:
    """The exit code, or None after killing the container when `timeout` passes first."""
    import requests

    try:
        return container.wait(timeout=timeout)["StatusCode"]
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        try:
            container.kill()
            container.wait(timeout=30)
        except Exception:
            pass  # already stopped, or the scope's forced removal ends it
        return None


def compare(client, original: str, slim: str, commands: list[list[str] | None], entrypoint: list[str] | None,
            timeout: float, env: tuple[str, ...] = ()) -> list[Comparison]:
    """Run each command (None: the image's own CMD) in both images, with `env` ("K=V") added."""
    results = []
    for command in commands:
        label = " ".join(command) if command else "(image default command)"
        try:
            results.append(Comparison(label, run_container(client, original, command, entrypoint, timeout, env),
                                      run_container(client, slim, command, entrypoint, timeout, env)))
        except Exception as e:  # the SDK raises many types; each is one line for the user
            raise SlimError(f"--verify: could not run {label}: {e}") from None
    return results
