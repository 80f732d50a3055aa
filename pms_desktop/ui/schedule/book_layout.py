"""Geometry of the appointment book: columns (day x practitioner), the time grid, and where each
appointment sits (side-by-side lanes when a practitioner is double-booked). No painting here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QRectF

from ...services.scheduling_dto import AppointmentInfo, BookView, ClinicHours, PractitionerInfo

TIME_AXIS = 58
SLOT_HEIGHT = 22
# Narrowest column, day or week view, in which a booking's time and patient stay readable; more
# columns than fit scroll sideways.
MIN_COLUMN = 120
HIDDEN = ("cancelled",)


@dataclass(frozen=True)
class Column:
    day: date
    practitioner: PractitionerInfo


class BookLayout:
    def __init__(self, view: BookView, width: int, min_column: int = MIN_COLUMN) -> None:
        self.view = view
        self.tz = ZoneInfo(view.hours.timezone)
        self.slot = view.hours.slot_minutes
        self.columns = [
            Column(view.first_day + timedelta(days=d), p)
            for d in range(view.days)
            for p in view.practitioners
        ]
        n = max(1, len(self.columns))
        self.col_width = max(float(min_column), (width - TIME_AXIS) / n)
        self.start_min = view.hours.day_start.hour * 60 + view.hours.day_start.minute
        self.end_min = view.hours.day_end.hour * 60 + view.hours.day_end.minute
        self.slots = max(1, (self.end_min - self.start_min) // self.slot)
        self.width = int(TIME_AXIS + self.col_width * n)
        self.height = self.slots * SLOT_HEIGHT + 1

    # --- coordinates -------------------------------------------------------------------------

    def column_x(self, index: int) -> float:
        return TIME_AXIS + index * self.col_width

    def column_index(self, day: date, practitioner_id: str) -> int | None:
        for i, c in enumerate(self.columns):
            if c.day == day and c.practitioner.id == practitioner_id:
                return i
        return None

    def y_of(self, when: datetime) -> float:
        local = when.astimezone(self.tz)
        minutes = local.hour * 60 + local.minute + local.second / 60
        return (minutes - self.start_min) / self.slot * SLOT_HEIGHT

    def cell_at(self, x: float, y: float) -> tuple[int, datetime] | None:
        """(column index, slot start) under a point, or None outside the grid."""
        if x < TIME_AXIS or not self.columns or y < 0:
            return None
        col = int((x - TIME_AXIS) // self.col_width)
        slot = int(y // SLOT_HEIGHT)
        if col >= len(self.columns) or slot >= self.slots:
            return None
        return col, self.slot_time(col, slot)

    def slot_time(self, col: int, slot: int) -> datetime:
        minutes = self.start_min + slot * self.slot
        day = self.columns[col].day
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)

    def slot_index(self, when: datetime) -> int:
        return int(round(self.y_of(when) / SLOT_HEIGHT))

    def cell_rect(self, col: int, when: datetime, minutes: int | None = None) -> QRectF:
        y = self.y_of(when)
        h = (minutes or self.slot) / self.slot * SLOT_HEIGHT
        return QRectF(self.column_x(col) + 1, y + 1, self.col_width - 3, h - 2)

    # --- appointments --------------------------------------------------------------------

    def placed(self) -> list[tuple[AppointmentInfo, QRectF]]:
        """Each shown appointment with its rectangle; overlapping ones share the column in lanes."""
        out: list[tuple[AppointmentInfo, QRectF]] = []
        by_col: dict[int, list[AppointmentInfo]] = {}
        for a in self.view.appointments:
            if a.status in HIDDEN:
                continue
            col = self.column_index(a.start_at.astimezone(self.tz).date(), a.practitioner_id)
            if col is not None:
                by_col.setdefault(col, []).append(a)
        for col, items in by_col.items():
            items.sort(key=lambda a: (a.start_at, a.end_at))
            lanes: list[datetime] = []
            lane_of: dict[str, int] = {}
            for a in items:
                lane = next((i for i, end in enumerate(lanes) if end <= a.start_at), None)
                if lane is None:
                    lanes.append(a.end_at)
                    lane = len(lanes) - 1
                else:
                    lanes[lane] = a.end_at
                lane_of[a.id] = lane
            count = max(1, len(lanes))
            x0, w = self.column_x(col), self.col_width - 4
            for a in items:
                top, bottom = self.y_of(a.start_at), self.y_of(a.end_at)
                lane_w = w / count
                out.append(
                    (
                        a,
                        QRectF(
                            x0 + 2 + lane_of[a.id] * lane_w,
                            top + 1,
                            lane_w - 2,
                            max(bottom - top - 2, 10.0),
                        ),
                    )
                )
        return out


def booking_start(day: date, hours: ClinicHours, now: datetime) -> datetime:
    """Where a new booking begins when no slot is chosen: on a later day shown, its opening
    time; else today's next slot from ``now`` (not before opening). It had been ``now`` itself,
    whatever day the book showed: Monday's book offered Sunday 01:12."""
    tz = ZoneInfo(hours.timezone)
    local = now.astimezone(tz)
    if day > local.date():
        return datetime.combine(day, hours.day_start, tzinfo=tz)
    minutes = local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)
    minutes = max(-(-minutes // hours.slot_minutes) * hours.slot_minutes,
                  hours.day_start.hour * 60 + hours.day_start.minute)
    return datetime.combine(local.date(), time(), tzinfo=tz) + timedelta(minutes=minutes)


def card_title(a: AppointmentInfo, local: datetime, fits: Callable[[str], bool]) -> str:
    """A booking's first line: its time and the patient's name where they fit. In a narrow
    column (ten practitioners on a laptop) the time goes, from every card of the column alike
    (the time axis and the card's place show it), and the given name shrinks to its initial:
    'FARRELL, A.' rather than '09:00 FAR…'. The last choice is returned even if it does not fit
    (the painter ends it with '…')."""
    mark = "⧉ " if a.overbook_reason else ""
    short = a.patient_name
    if a.patient_family:
        initial = f", {a.patient_given[:1]}." if a.patient_given else ""
        short = f"{a.patient_family.upper()}{initial}"
    clock = f"{local:%H:%M}  "
    if fits(mark + clock + "MORRISON, M."):  # room for the time beside a usual name
        choices: tuple[str, ...] = (clock + a.patient_name, clock + short, short)
    else:
        choices = (a.patient_name, short)
    for text in choices:
        if fits(mark + text):
            return mark + text
    return mark + choices[-1]
