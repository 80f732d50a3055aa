"""Fixtures of the reliability tests.

The real sync server and enrolled workstations of tests/sync, for the tests that need them
(audit truncation, disk trouble during sync, leaks in the server's logs); and ``watched``: the
places an application keeps temporary files, settings and caches, pointed at folders of the
test's own so that the leak tests can search them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.sync.conftest import make_workstations, sync_server, workstations  # noqa: F401


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """TMPDIR, HOME, XDG config and cache folders of the test's own, and an exports folder
    (where a person chose to save files)."""
    folders = {name: tmp_path / name for name in ("tmp", "home", "config", "cache", "exports")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folders["tmp"]))
    monkeypatch.setattr(tempfile, "tempdir", str(folders["tmp"]))
    monkeypatch.setenv("HOME", str(folders["home"]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folders["config"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folders["cache"]))
    return folders
