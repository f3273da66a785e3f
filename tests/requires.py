"""What a test needs from the machine (root, a program, the daemon, ...), said in one way.

A missing requirement skips the test on a developer's machine, and fails it when CI=true: in CI
a test must never vanish quietly because the machine lacks what it needs (`.ci/run` installs
everything, see scripts/ensure-system-packages).
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

CI = os.environ.get("CI") == "true"

# The Debian package of each program the tests run (scripts/ensure-system-packages installs them).
PACKAGES = {"gcc": "gcc", "musl-gcc": "musl-tools", "lddtree": "pax-utils", "skopeo": "skopeo", "strace": "strace",
            "find": "findutils", "npm": "npm"}


def unavailable(what: str) -> NoReturn:
    """Skip the test because `what` (one line saying what is missing) -- or fail it when CI=true."""
    if CI:
        pytest.fail(f"{what} (required when CI=true)", pytrace=False)
    pytest.skip(what)


def program(name: str) -> str:
    """The path of program `name` (one of PACKAGES)."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (apt-get install -y {PACKAGES[name]})")
    return path


def root(what: str) -> None:
    """The test runs `what` (chroot, mount), which only root may do."""
    if os.geteuid() != 0:
        unavailable(f"{what} needs root")
