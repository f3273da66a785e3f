"""Shared pytest fixtures.

- docker_client: the docker SDK client (session). Daemon unreachable ->
  the test fails when CI=true, is skipped otherwise (requires.unavailable).
- sample_image(name) -> "slimmer-sample/<name>:latest", built/loaded if needed.
- sample_archive(name) -> Path of its `docker save` tarball (no daemon needed
  when the cached one is current).
Tests using these get the `daemon` marker automatically.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from requires import unavailable

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES_DIR))

import build_samples  # noqa: E402

DAEMON_FIXTURES = {"docker_client", "sample_image"}
_client = None


def _require_daemon():
    """The docker SDK client, or fail (CI) / skip (elsewhere) the test."""
    global _client
    if _client is None:
        try:
            import docker

            client = docker.from_env()
            client.ping()
        except Exception as exc:  # ImportError, DockerException, connection errors
            unavailable(f"Docker daemon unreachable ({type(exc).__name__}: {exc})")
        _client = client
    return _client


def _ensure(name: str) -> dict:
    _require_daemon()
    try:
        return build_samples.ensure_sample(name)
    except build_samples.BuildError as exc:
        pytest.fail(f"sample {name!r} could not be built: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def docker_client():
    return _require_daemon()


@pytest.fixture(scope="session")
def sample_image(docker_client):
    seen: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in seen:
            seen[name] = _ensure(name)["tag"]
        return seen[name]

    return get


@pytest.fixture(scope="session")
def sample_archive():
    def get(name: str) -> Path:
        return build_samples.cached_archive(name) or Path(_ensure(name)["archive"])

    return get


def pytest_collection_modifyitems(config, items):
    for item in items:
        if DAEMON_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.daemon)
