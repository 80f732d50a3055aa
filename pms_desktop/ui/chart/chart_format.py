"""Small display helpers shared by the chart's tabs: clinic-time formatting, vitals text, colours.

Nothing here touches services; values come from the service's frozen dataclasses.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ...domain import vitals as V
from ..widgets.dates import day_text, day_time_text

ALERT_RED = "#b3261e"
ACCENT = "#1f6f8b"
MUTED = "#5f6b7a"
OK_GREEN = "#2e7d32"

FLAG_TEXT = {"H": "High", "L": "Low", "HH": "Critically high", "LL": "Critically low",
             "A": "Abnormal", "N": ""}


class ClinicClock:
    """Shows aware UTC datetimes in the clinic's time zone."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.set_timezone(timezone)

    def set_timezone(self, timezone: str) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except Exception:  # noqa: BLE001 - a bad setting falls back to UTC
            self.zone = ZoneInfo("UTC")

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def date_time(self, at: datetime | None) -> str:
        return day_time_text(self.local(at)) if at else ""

    def date(self, at: datetime | None) -> str:
        return day_text(self.local(at)) if at else ""

    def time(self, at: datetime | None) -> str:
        return self.local(at).strftime("%H:%M:%S") if at else ""


def number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def vital_text(o: object) -> tuple[str, str]:
    """(label, 'value unit') of a vital-sign observation for the summary column."""
    code = o.code
    comps = o.components
    if code == V.BP_PANEL_CODE and len(comps) == 2:
        return "BP", f"{number(comps[0].value)}/{number(comps[1].value)} mmHg"
    spec = V.BY_CODE.get(code)
    value = o.value
    if spec is None or value is None:
        return o.display, number(value)
    return spec.label, f"{V.format_value(spec, value)} {V.UNIT_LABELS.get(spec.unit, spec.unit)}"


def range_text(low: Decimal | None, high: Decimal | None) -> str:
    if low is not None and high is not None:
        return f"{number(low)}–{number(high)}"
    if low is not None:
        return f"≥ {number(low)}"
    if high is not None:
        return f"≤ {number(high)}"
    return ""
