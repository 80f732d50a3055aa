"""An access-log upload stops at about ``AUDIT_UPLOAD_BYTES`` of detail text (a pulled page's
entry names its records), never at zero entries, so a log of big entries still goes, in parts,
inside the server's body limit."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pms_desktop.sync.engine import _within_bytes


def _rows(*sizes: int) -> list[Any]:
    return [SimpleNamespace(detail="x" * n if n else None) for n in sizes]


def test_an_upload_stops_before_the_entry_that_would_pass_the_budget() -> None:
    rows = _rows(400, 400, 400, 400)
    assert len(_within_bytes(rows, 1000)) == 2
    assert len(_within_bytes(rows, 1600)) == 4  # all fit: the upload may say it is the last
    assert len(_within_bytes(_rows(0, 0, 0), 10)) == 3  # entries without detail cost nothing


def test_an_entry_bigger_than_the_budget_still_goes_alone() -> None:
    assert len(_within_bytes(_rows(5000, 10), 1000)) == 1
    assert len(_within_bytes(_rows(10, 5000), 1000)) == 1  # next upload: the big one alone
