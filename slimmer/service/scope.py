"""Everything a run creates in the daemon, labelled and removed when the run ends.

A verification or a probe starts containers and volumes in a daemon others share, and may be
stopped at any moment (a failed check, a hanging client, Ctrl-C, SIGTERM from a cancelled CI
job). So each object carries the label `org.slimmer.run=<run id>` from birth, and the scope's
exit removes them all, with SIGINT/SIGTERM held back while it does so that a second signal
cannot leave half of them behind.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from slimmer.errors import SlimError
from slimmer.image.daemon import one_line

RUN_LABEL = "org.slimmer.run"  # on every container and volume a run creates; value: the run id
PID_LABEL = "org.slimmer.pid"  # the creating process: what to remove by hand after a `kill -9` of slim
ROLE_LABEL = "org.slimmer.role"  # server, client, ready, volume
REMOVE_ATTEMPTS = 5


@dataclass
class Scope:
    """Creates labelled containers and volumes; `close()` removes every one of them."""

    client: Any  # docker.DockerClient
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    containers: list[Any] = field(default_factory=list)
    volumes: list[Any] = field(default_factory=list)

    def labels(self, role: str) -> dict[str, str]:
        return {RUN_LABEL: self.run_id, PID_LABEL: str(os.getpid()), ROLE_LABEL: role}

    def name(self, what: str) -> str:
        return f"slimmer-{self.run_id}-{what}"

    def create_container(self, role: str, name: str, image: str, **options: Any) -> Any:
        """A container (not started) that this scope will remove."""
        with uninterrupted():  # an interrupted request could still create it, after close() looked
            try:
                container = self.client.containers.create(image, name=self.name(name), labels=self.labels(role),
                                                          **options)
            except Exception as e:  # the SDK raises many types; each is one line for the user
                raise SlimError(f"cannot create the {role} container from {image}: {one_line(e)}") from None
            self.containers.append(container)
        return container

    def create_volume(self, name: str) -> str:
        """A named volume (docker fills it from the image like an anonymous one); returns its name."""
        with uninterrupted():
            try:
                volume = self.client.volumes.create(name=self.name(name), labels=self.labels("volume"))
            except Exception as e:
                raise SlimError(f"cannot create a volume: {one_line(e)}") from None
            self.volumes.append(volume)
        return volume.name

    def discard(self, container: Any) -> None:
        """Remove one container now (a finished client), not at the end of the scope."""
        with uninterrupted():
            _remove(container, v=True)
            self.containers.remove(container)

    def close(self) -> None:
        """Remove containers (with their anonymous volumes), then volumes; never raises.

        Also found by label: whatever the lists missed (a failed SDK call that still created)."""
        with uninterrupted():
            label = {"label": f"{RUN_LABEL}={self.run_id}"}
            containers, volumes = list(self.containers), list(self.volumes)
            try:
                containers += self.client.containers.list(all=True, filters=label, sparse=True)
                volumes += self.client.volumes.list(filters=label)
            except Exception:
                pass  # the daemon went away: what was recorded is all that can be tried
            for container in reversed(containers):
                _remove(container, v=True)
            for volume in reversed(volumes):
                _remove(volume)
            self.containers.clear()
            self.volumes.clear()


def _remove(thing: Any, **options: Any) -> None:
    """Remove a container or a volume, if it is still there; the daemon may refuse while another
    request on it (a start) is still finishing, so retry."""
    import docker

    for attempt in range(REMOVE_ATTEMPTS):
        try:
            thing.remove(force=True, **options)
            return
        except docker.errors.NotFound:
            return
        except Exception:
            time.sleep(0.2 * (attempt + 1))  # in use, or the daemon is away: nothing else to do


@contextmanager
def open_scope(client: Any) -> Iterator[Scope]:
    scope = Scope(client)
    try:
        yield scope
    finally:
        scope.close()


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Delay SIGINT and SIGTERM until the block ends (they are delivered then): for daemon requests
    that must not be cut off halfway (create, start, remove), as the daemon finishes them anyway."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
