"""A practitioner's leave as a table: from, to, reason, appointments still booked inside."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ..theme import ALERT_RED
from ..widgets.dates import weekday_day_text
from ..widgets.item_table_model import Index, ItemTableModel


class LeaveTableModel(ItemTableModel):
    HEADERS = ("From", "To", "Reason", "Booked inside")

    def __init__(self, timezone: str = "UTC", parent: Any = None) -> None:
        super().__init__(parent)
        self.zone = ZoneInfo(timezone)

    def _local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def span_text(self, leave: Any) -> tuple[str, str]:
        """Whole days read as dates (the last day, not the midnight after it)."""
        start, end = self._local(leave.start_at), self._local(leave.end_at)
        if start.time() == time(0) and end.time() == time(0):
            return weekday_day_text(start), weekday_day_text(end - timedelta(days=1))
        return f"{weekday_day_text(start)} {start:%H:%M}", f"{weekday_day_text(end)} {end:%H:%M}"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        leave = self.item_at(index)
        if leave is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col < 2:
                return self.span_text(leave)[col]
            if col == 2:
                return leave.reason
            n = leave.appointments_inside
            if not n:
                return self.tr("None")
            return (self.tr("1 appointment: move it") if n == 1
                    else self.tr("{n} appointments: move them").format(n=n))
        if role == Qt.ItemDataRole.ForegroundRole and col == 3 and leave.appointments_inside:
            return QColor(ALERT_RED)
        return None
