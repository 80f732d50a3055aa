"""FHIR date, dateTime and instant values as UTC ranges ``(low, high)`` of store instants.

A value covers its whole precision: ``2024`` is the year, ``2024-05-01`` the day, a time down to
seconds the second. Values without a zone are read as UTC (the clinic's clock is not known here).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from sync_server.store.clock import instant

LOWEST = "0001-01-01T00:00:00.000000Z"
HIGHEST = "9999-12-31T23:59:59.999999Z"
_PATTERN = re.compile(
    r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<H>\d{2}):(?P<M>\d{2})(:(?P<S>\d{2})(\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$")


def date_range(value: str) -> tuple[str, str] | None:
    """The range a date value covers, or None when it is not a FHIR date."""
    match = _PATTERN.match(value.strip())
    if not match:
        return None
    g = match.groupdict()
    try:
        return _range(g)
    except (ValueError, OverflowError):
        return None


def _range(g: dict[str, str | None]) -> tuple[str, str]:
    year = int(g["y"] or 0)
    if g["m"] is None:
        return instant(datetime(year, 1, 1, tzinfo=UTC)), _end(datetime(year, 12, 31, tzinfo=UTC),
                                                                days=1)
    month = int(g["m"])
    if g["d"] is None:
        last = calendar.monthrange(year, month)[1]
        return (instant(datetime(year, month, 1, tzinfo=UTC)),
                _end(datetime(year, month, last, tzinfo=UTC), days=1))
    day = datetime(year, month, int(g["d"]), tzinfo=UTC)
    if g["H"] is None:
        return instant(day), _end(day, days=1)
    moment = day.replace(hour=int(g["H"]), minute=int(g["M"] or 0), second=int(g["S"] or 0))
    if g["f"]:
        moment = moment.replace(microsecond=int((g["f"] + "000000")[:6]))
    moment = moment - _offset(g["tz"])
    if g["S"] is None:
        return instant(moment), _end(moment, seconds=60)
    if g["f"]:
        return instant(moment), instant(moment)
    return instant(moment), _end(moment, seconds=1)


def _offset(tz: str | None) -> timedelta:
    if not tz or tz == "Z":
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    hours, minutes = tz[1:].split(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


def _end(start: datetime, *, days: int = 0, seconds: int = 0) -> str:
    try:
        return instant(start + timedelta(days=days, seconds=seconds) - timedelta(microseconds=1))
    except OverflowError:
        return HIGHEST
