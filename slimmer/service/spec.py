"""The verify spec: how a service is exercised (its env, when it is ready, which clients ask it).

Read from `--verify-spec FILE` (TOML or YAML) and completed by the command-line options, which
add to the spec's env and clients and override its ready check. The format is fixed (README,
"Verifying a service") because the probe uses the same files.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from slimmer.errors import UsageError

KEYS = ("env", "env_file", "ready", "ready_timeout", "clients")
DEFAULT_READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class VerifySpec:
    """What a service run needs; an empty spec means "run the image's default command"."""

    env: tuple[str, ...] = ()  # "KEY=VALUE", later entries win, as with docker run -e
    ready: tuple[str, ...] | None = None  # argv retried until it exits 0; None: HEALTHCHECK or a port
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    clients: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def is_service(self) -> bool:
        """Clients or a ready check make it a service run; env alone does not."""
        return bool(self.clients) or self.ready is not None

    def with_options(self, env: Iterable[str] = (), env_files: Iterable[Path] = (), ready: str | None = None,
                     clients: Iterable[str] = ()) -> VerifySpec:
        """The spec with command-line options added (env, clients) or overriding it (ready)."""
        added_env = [line for path in env_files for line in read_env_file(path, "--env-file")]
        added_env += [_env_entry(entry, "-e/--env") for entry in env]
        return replace(self, env=self.env + tuple(added_env),
                       ready=self.ready if ready is None else _argv(ready, "--verify-ready"),
                       clients=self.clients + tuple(_argv(c, "--verify-client") for c in clients))


def load_spec(path: Path) -> VerifySpec:
    """Parse a spec file; every problem is a one-line UsageError naming the file."""
    data = _read_document(path)
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
    env: list[str] = []
    if "env_file" in data:
        env_file = data["env_file"]
        if not isinstance(env_file, str):
            raise UsageError(f"{path}: env_file must be a file name")
        env += read_env_file(path.parent / env_file, f"{path}: env_file")
    env += _env_value(data.get("env", {}), path)
    ready = data.get("ready")
    if ready is not None and not isinstance(ready, str):
        raise UsageError(f"{path}: ready must be a command line (a string)")
    timeout = data.get("ready_timeout", DEFAULT_READY_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise UsageError(f"{path}: ready_timeout must be a positive number of seconds")
    clients = data.get("clients", [])
    if not isinstance(clients, list) or not all(isinstance(c, str) for c in clients):
        raise UsageError(f"{path}: clients must be a list of command lines (strings)")
    where = f"{path}: "
    return VerifySpec(env=tuple(env), ready=_argv(ready, where + "ready") if ready is not None else None,
                      ready_timeout=float(timeout), clients=tuple(_argv(c, where + "clients") for c in clients))


def read_env_file(path: Path, what: str) -> list[str]:
    """KEY=VAL lines as docker's --env-file reads them: `#` comments and blank lines skipped, a
    bare KEY takes its value from this environment (and is dropped when unset there)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{what} {path}: {getattr(e, 'strerror', None) or e}") from None
    entries = []
    for number, line in enumerate(lines, 1):
        text = line.lstrip()
        if not text or text.startswith("#"):
            continue
        key, sep, _ = text.partition("=")
        if not key or any(c.isspace() for c in key):
            raise UsageError(f"{what} {path}:{number}: not KEY=VALUE: {line.strip()!r}")
        if sep:
            entries.append(text)
        elif key in os.environ:
            entries.append(f"{key}={os.environ[key]}")
    return entries


def _read_document(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise UsageError(f"--verify-spec {path}: the file name must end in .toml, .yaml or .yml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--verify-spec {path}: {getattr(e, 'strerror', None) or e}") from None
    if suffix == ".toml":
        import tomllib

        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"{path}: not valid TOML: {e}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
        data = {} if data is None else data
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the spec must be a table of keys ({', '.join(KEYS)})")
    return data


def _env_value(value: Any, path: Path) -> list[str]:
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) and k and "=" not in k for k in value):
            raise UsageError(f"{path}: env keys must be variable names")
        return [f"{k}={_scalar(v, path, k)}" for k, v in value.items()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [_env_entry(v, f"{path}: env") for v in value]
    raise UsageError(f'{path}: env must be a table of KEY = "value" or a list of "KEY=VALUE" strings')


def _scalar(value: Any, path: Path, key: str) -> str:
    """Values as the environment will hold them; YAML's `true` becomes "true", not "True"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise UsageError(f"{path}: env {key} must be a string or a number")


def _env_entry(entry: str, what: str) -> str:
    key, sep, _ = entry.partition("=")
    if not sep or not key:
        raise UsageError(f"{what}: expected KEY=VALUE, got {entry!r}")
    return entry


def _argv(command: str, what: str) -> tuple[str, ...]:
    try:
        argv = tuple(shlex.split(command))
    except ValueError as e:
        raise UsageError(f"{what}: cannot split {command!r}: {e}") from None
    if not argv:
        raise UsageError(f"{what}: empty command")
    return argv
