"""Service verification: the same service run on the original and the slim image, compared.

Compared: each client's exit code and stdout, and the server's exit code after its STOPSIGNAL.
Server logs carry timestamps and process ids, so they are shown on failure, never compared. A
server that does not become ready is a failure even when both images fail alike: a database
started without its password variable exits at once in both, and that is not agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slimmer.errors import VerifyFailed
from slimmer.pack.verify import Comparison, RunResult
from slimmer.service.run import ServerOptions, ServiceOutcome, ServiceRun
from slimmer.service.scope import open_scope
from slimmer.service.spec import VerifySpec

LOG_LINES = 30  # of a server's log shown with a failure


@dataclass(frozen=True)
class Verification:
    comparisons: list[Comparison]
    slim_log: bytes  # shown when a comparison fails


def verify_service(client: Any, original: str, slim: str, spec: VerifySpec, server: ServerOptions,
                   timeout: float) -> Verification:
    """Exercise `original`, then `slim` (clients from `original`'s tools), and compare the two."""
    fat = _exercise(client, original, original, spec, server, timeout)
    if not fat.readiness.ready:
        raise VerifyFailed(f"--verify: server did not become ready with the original image: {fat.readiness.detail} "
                           "(nothing to compare: check the spec's env and ready check)", log_tail(fat.log, "original"))
    hung = [command for command, result in fat.clients if result.exit_code is None]
    if hung:
        raise VerifyFailed(f"--verify: client `{hung[0]}` did not finish within {timeout:g} s with the original "
                           "image (nothing to compare: check the spec's clients)", log_tail(fat.log, "original"))
    thin = _exercise(client, slim, original, spec, server, timeout)
    if not thin.readiness.ready:
        raise VerifyFailed(f"--verify: server did not become ready with the slim image: {thin.readiness.detail}",
                           log_tail(thin.log, "slim"))
    comparisons = [Comparison(command, result, _result_at(thin, index))
                   for index, (command, result) in enumerate(fat.clients)]
    comparisons.append(Comparison(f"server stopped with {fat.stop_signal}", fat.stopped, thin.stopped,
                                  stdout_compared=False))
    return Verification(comparisons, thin.log)


def log_tail(log: bytes, which: str) -> str:
    lines = log.decode("utf-8", "replace").splitlines()[-LOG_LINES:]
    return "\n".join([f"{which} server log (last {len(lines)} lines):"] + ["  " + line for line in lines])


def _exercise(client: Any, image: str, tools_image: str, spec: VerifySpec, server: ServerOptions,
              timeout: float) -> ServiceOutcome:
    with open_scope(client) as scope:
        return ServiceRun(scope, image, tools_image, spec, server, timeout).exercise()


def _result_at(outcome: ServiceOutcome, index: int) -> RunResult:
    if index < len(outcome.clients):
        return outcome.clients[index][1]
    return RunResult(None, b"", b"", note=f"not run: the server had exited ({outcome.stopped.describe_exit()})")
