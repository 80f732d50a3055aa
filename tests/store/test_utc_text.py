"""UTC datetimes are written to SQLite as the same text SQLAlchemy's own processors made
(``UtcDateTime.bind_processor`` writes it at once): stored values and comparisons unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from pms_desktop.store.models.base import UtcDateTime

DIALECT = sqlite.dialect()
TYPE = UtcDateTime().dialect_impl(DIALECT)  # as the dialect uses it
FAST = TYPE.bind_processor(DIALECT)
SLOW = TypeDecorator.bind_processor(TYPE, DIALECT)  # process_bind_param, then DATETIME's


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.timezones() | st.just(UTC)))
def test_the_text_written_is_sqlalchemys(value: datetime) -> None:
    assert FAST is not SLOW
    assert FAST(value) == SLOW(value)


@pytest.mark.parametrize("value", [
    datetime(2026, 11, 21, 13, 45, tzinfo=UTC),  # no microseconds: still written
    datetime(2026, 3, 29, 1, 30, 0, 5, tzinfo=timezone(timedelta(hours=1))),
    datetime(999, 1, 1, 0, 0, tzinfo=UTC),  # a year of three digits, padded
])
def test_examples(value: datetime) -> None:
    assert FAST(value) == SLOW(value)
    assert FAST(None) is None and SLOW(None) is None


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        FAST(datetime(2026, 1, 1))
