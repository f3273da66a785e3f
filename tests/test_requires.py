"""The requirement helper: a missing requirement skips a test, and fails it when CI=true."""

from __future__ import annotations

import pytest

import requires


@pytest.mark.parametrize("ci, outcome", [(False, pytest.skip.Exception), (True, pytest.fail.Exception)])
def test_a_missing_program_skips_or_fails_in_ci(monkeypatch, ci, outcome):
    monkeypatch.setattr(requires, "CI", ci)
    monkeypatch.setattr(requires.shutil, "which", lambda name: None)
    with pytest.raises(outcome, match=r"^skopeo is not installed \(apt-get install -y skopeo\)"):
        requires.program("skopeo")


def test_root(monkeypatch):
    monkeypatch.setattr(requires, "CI", True)
    monkeypatch.setattr(requires.os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.fail.Exception, match=r"^chroot needs root"):
        requires.root("chroot")
    monkeypatch.setattr(requires.os, "geteuid", lambda: 0)
    requires.root("chroot")
