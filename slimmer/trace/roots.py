"""Where tracing starts: the image config (how the container is run) and the user's options.

Each root is a Need with its reason: the program of ENTRYPOINT + CMD and what its arguments
name (as the command resolver reads any command line), HEALTHCHECK commands, the user's
passwd/group entries and home, the working directory, /tmp, and what `--include*` asks for.
(The time zone, locale and terminal the Env names are data chosen by name:
slimmer/trace/named/ keeps them for the programs that load them.) The files the container
reads rather than runs (the user database, the home directory, ...) are needed as data.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field
from typing import Any

from slimmer.errors import SlimError, UsageError
from slimmer.rootfs.fs import RootFS
from slimmer.trace.closure import Need
from slimmer.trace.commands import DOCKER_DEFAULT_PATH, CommandResolver


@dataclass(frozen=True)
class RunSpec:
    """How the container starts: what `docker run IMAGE` would execute, and as whom."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    user: str
    healthcheck: list[str] = field(default_factory=list)  # argv of the health check, if any
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])


def parse_env(items: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        env[name] = value
    env.setdefault("PATH", DOCKER_DEFAULT_PATH)
    return env


def run_spec(config: dict[str, Any], entrypoint: str | None = None, cmd: str | None = None) -> RunSpec:
    """ENTRYPOINT + CMD as Docker combines them; `--entrypoint` resets CMD as `docker run` does."""
    container = config.get("config") or {}
    shell = container.get("Shell") or ["/bin/sh", "-c"]
    if entrypoint is not None:
        first = _split(entrypoint, "--entrypoint")
        rest = _split(cmd, "--cmd") if cmd is not None else []
    else:
        first = list(container.get("Entrypoint") or [])
        rest = _split(cmd, "--cmd") if cmd is not None else list(container.get("Cmd") or [])
    argv = first + rest
    test = list((container.get("Healthcheck") or {}).get("Test") or [])
    healthcheck = test[1:] if test[:1] == ["CMD"] else shell + test[1:2] if test[:1] == ["CMD-SHELL"] else []
    return RunSpec(argv=argv, env=parse_env(container.get("Env")), cwd=container.get("WorkingDir") or "/",
                   user=container.get("User") or "", healthcheck=healthcheck, shell=shell)


def _split(text: str, option: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise UsageError(f"{option}: {e}") from None
    if not words:
        raise UsageError(f"{option} is empty")
    return words


@dataclass(frozen=True)
class RootOptions:
    """What the user adds on the command line."""

    include_exe: tuple[str, ...] = ()
    include: tuple[str, ...] = ()  # paths or globs, kept with everything under them
    python_strict: bool = False  # Python: only traced modules (no package data, no whole packages)
    extra: tuple[Need, ...] = ()  # roots found outside the image's config (what a probe run touched)


def roots(spec: RunSpec, fs: RootFS, resolver: CommandResolver, options: RootOptions = RootOptions()) -> list[Need]:
    if not spec.argv:
        raise SlimError("the image has no ENTRYPOINT or CMD: say what it runs with --entrypoint or --cmd")
    found = resolver.needs(spec.argv, "ENTRYPOINT/CMD", spec.cwd)
    if spec.healthcheck:
        found += resolver.needs(spec.healthcheck, "HEALTHCHECK", spec.cwd)
    for name in options.include_exe:
        program = resolver.find(name, spec.cwd)
        if program is None:
            raise SlimError(f"--include-exe {name}: not found in the image's PATH")
        found += resolver.needs([name], f"--include-exe {name}", spec.cwd)
    found += _include_needs(fs, options.include)
    found += options.extra
    found += _user_needs(fs, spec)
    found += [Need(spec.cwd, "WorkingDir", optional=True, data=True),
              Need("/tmp", "temporary directory programs expect (mode 1777)", optional=True, data=True),
              Need("/etc/os-release", "read by image scanners to identify the distribution", optional=True,
                   data=True)]
    return found


def _include_needs(fs: RootFS, patterns: tuple[str, ...]) -> list[Need]:
    found = []
    for pattern in patterns:
        absolute = posixpath.normpath("/" + pattern.lstrip("/"))
        matches = fs.glob(absolute) if any(c in absolute for c in "*?[") else [absolute]
        if not matches or fs.resolve(matches[0], follow_last=False).entry is None:
            raise SlimError(f"--include {pattern}: nothing in the image matches")
        found += [Need(path, f"--include {pattern}", recursive=True) for path in matches]
    return found


def _user_needs(fs: RootFS, spec: RunSpec) -> list[Need]:
    """The user database (Docker itself reads it to start the container as USER) and the home."""
    found = [Need("/etc/passwd", f"user database (USER {spec.user or 'root'})", optional=True, data=True),
             Need("/etc/group", f"group database (USER {spec.user or 'root'})", optional=True, data=True)]
    home = spec.env.get("HOME") or _home_of(fs, spec.user.split(":", 1)[0] or "0")
    if home:
        found.append(Need(home, "home directory of the user", optional=True, data=True))
    return found


def _home_of(fs: RootFS, user: str) -> str | None:
    entry = fs.lookup("/etc/passwd")
    if entry is None or not entry.is_file:
        return None
    for line in fs.read(entry).decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and user in (fields[0], fields[2]):
            return fields[5] or None
    return None
