"""The packages type-check: ``mypy pms_desktop sync_server`` (strict, config in pyproject.toml).

About 25 s of processor time from a cold cache, ~1 s with mypy's incremental cache
(``.mypy_cache``, git-ignored), which it keeps valid on its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_packages_type_check() -> None:
    exe = shutil.which("mypy") or str(Path(sys.executable).with_name("mypy"))
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([exe, "pms_desktop", "sync_server"], cwd=root,  # noqa: S603
                            capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, result.stdout[-3000:]
