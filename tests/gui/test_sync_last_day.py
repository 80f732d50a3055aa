"""A sync older than a day is named by its day where the workstation is, as the exact time
written beside it ('5 Jan 2027 (5 Jan 2027 09:00)'), not by its day in UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from pms_desktop.ui.sync.conflict_format import relative


@pytest.fixture
def auckland(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TZ", "Pacific/Auckland")  # UTC+13 in January
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_sync_days_ago_is_named_by_the_local_day(auckland) -> None:  # type: ignore[no-untyped-def]
    last = datetime(2027, 1, 4, 20, 0, tzinfo=UTC)  # Tuesday 5 January 09:00 in Auckland
    now = datetime(2027, 1, 7, 20, 0, tzinfo=UTC)
    assert last.astimezone().day == 5  # the zone is in force
    assert relative(last, now) == "5 Jan 2027"  # was '4 Jan 2027', the UTC day
