"""The layer contracts of pyproject.toml hold (import-linter): Qt only in ui, the UI never
reaches the store or the network directly, desktop and server never import each other."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([exe, "--no-cache"], cwd=root,  # noqa: S603 - a fixed argument list
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
