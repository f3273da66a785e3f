"""Everything a run creates in the daemon, labelled and removed when the run ends.

A verification or a probe starts containers and volumes in a daemon others share, and may be
stopped at any moment (a failed check, a hanging client, Ctrl-C, SIGTERM from a cancelled CI
job). So each object carries the label `org.slimmer.run=<run id>` from birth, and the scope's
exit removes them all, with SIGINT/SIGTERM held back while it does so that a second signal
cannot leave half of them behind.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from slimmer.errors import SlimError
from slimmer.image.daemon import one_line

RUN_LABEL = "org.slimmer.run"  # on every container and volume a run creates; value: the run id
ROLE_LABEL = "org.slimmer.role"  # server, client, ready, volume


@dataclass
class Scope:
    """Creates labelled containers and volumes; `close()` removes every one of them."""

    client: Any  # docker.DockerClient
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    containers: list[Any] = field(default_factory=list)
    volumes: list[Any] = field(default_factory=list)

    def labels(self, role: str) -> dict[str, str]:
        return {RUN_LABEL: self.run_id, ROLE_LABEL: role}

    def name(self, what: str) -> str:
        return f"slimmer-{self.run_id}-{what}"

    def create_container(self, role: str, name: str, image: str, **options: Any) -> Any:
        """A container (not started) that this scope will remove."""
        try:
            container = self.client.containers.create(image, name=self.name(name), labels=self.labels(role),
                                                      **options)
        except Exception as e:  # the SDK raises many types; each is one line for the user
            raise SlimError(f"cannot create the {role} container from {image}: {one_line(e)}") from None
        self.containers.append(container)
        return container

    def create_volume(self, name: str) -> str:
        """A named volume (docker fills it from the image like an anonymous one); returns its name."""
        try:
            volume = self.client.volumes.create(name=self.name(name), labels=self.labels("volume"))
        except Exception as e:
            raise SlimError(f"cannot create a volume: {one_line(e)}") from None
        self.volumes.append(volume)
        return volume.name

    def discard(self, container: Any) -> None:
        """Remove one container now (a finished client), not at the end of the scope."""
        with _signals_held():
            _remove(container)
            self.containers.remove(container)

    def close(self) -> None:
        """Remove containers (with their anonymous volumes), then volumes; never raises."""
        with _signals_held():
            for container in reversed(self.containers):
                _remove(container)
            for volume in reversed(self.volumes):
                try:
                    volume.remove(force=True)
                except Exception:
                    pass
            self.containers.clear()
            self.volumes.clear()


def _remove(container: Any) -> None:
    try:
        container.remove(force=True, v=True)
    except Exception:
        pass  # already gone (or the daemon went away: nothing else to do)


@contextmanager
def open_scope(client: Any) -> Iterator[Scope]:
    scope = Scope(client)
    try:
        yield scope
    finally:
        scope.close()


@contextmanager
def _signals_held() -> Iterator[None]:
    """Delay SIGINT and SIGTERM until the block ends (they are delivered then)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
