"""The repository lints clean: ``ruff check .`` from its root (rules in pyproject.toml
[tool.ruff]), as the README asks before every commit. About a second."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_ruff_check_reports_nothing() -> None:
    exe = str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        exe = shutil.which("ruff") or exe
    root = Path(__file__).resolve().parents[1]
    cmd = [exe, "check", ".", "--no-cache", "--output-format", "concise"]  # fixed arguments
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
