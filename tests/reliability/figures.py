"""What the reliability proving ground counts, gathered across test processes.

Each fault-injection test calls :func:`record` once with what it did (trials run, faults
injected) and what it found (changes lost, duplicates, corruptions, leaks). When
``PMS_RELIABILITY_OUT`` names a file (the report command sets it), the figures are appended
there as JSON lines, one per test, so that ``python -m tests.reliability.report`` can add them
up across the pytest-xdist workers; otherwise recording costs nothing.

``trials(short, long)`` is how many trials a test runs: the short count in CI, the long one when
``PMS_RELIABILITY=long`` (the report command's ``--long``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

LONG = os.environ.get("PMS_RELIABILITY", "short") == "long"


def trials(short: int, long: int) -> int:
    return long if LONG else short


def record(area: str, *, trials: int, faults: int, lost: int = 0, duplicates: int = 0,
           corruptions: int = 0, leaks: int = 0, **extra: int | str) -> None:
    """Add one test's figures to the report (``area`` groups rows, e.g. "crash during saves")."""
    out = os.environ.get("PMS_RELIABILITY_OUT")
    if not out:
        return
    row = {"area": area, "trials": trials, "faults": faults, "lost": lost,
           "duplicates": duplicates, "corruptions": corruptions, "leaks": leaks, **extra}
    with Path(out).open("a", encoding="utf-8") as f:  # one short line: appends do not interleave
        f.write(json.dumps(row, sort_keys=True) + "\n")
