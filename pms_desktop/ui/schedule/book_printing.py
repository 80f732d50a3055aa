"""Printing from the appointment book: the day list and the appointment card.

The scheduling service reads and renders the PDF on the worker thread; the GUI only asks for
the printer (the system's print dialog) or for where to save, and reports back. No file is
written unless the person saves one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget

from ...domain.session import StaffSession
from ..widgets import printing
from ..widgets.dates import day_text


def _day_list(ctx: Any, session: StaffSession, day: date,
              columns: list[str] | None) -> Callable[[], bytes]:
    sched = ctx.scheduling
    return lambda: sched.day_list_pdf(session, day=day, practitioner_ids=columns)


def _card(ctx: Any, session: StaffSession, appointment_id: str) -> Callable[[], bytes]:
    sched = ctx.scheduling
    return lambda: sched.appointment_card_pdf(session, appointment_id=appointment_id)


def print_day_list(parent: QWidget, ctx: Any, session: StaffSession, day: date,
                   columns: list[str] | None, done: Callable[[int], None], *,
                   printer: QPrinter | None = None) -> None:
    title = parent.tr("day list %s") % day_text(day)
    printing.print_pdf(parent, _day_list(ctx, session, day, columns), title, done,
                       printer=printer)


def save_day_list(parent: QWidget, ctx: Any, session: StaffSession, day: date,
                  columns: list[str] | None, done: Callable[[Path], None], *,
                  path: Path | None = None) -> None:
    printing.save_pdf(parent, _day_list(ctx, session, day, columns),
                      f"day-list-{day:%Y-%m-%d}.pdf", done, path=path,
                      caption=parent.tr("Save the day list"))


def print_card(parent: QWidget, ctx: Any, session: StaffSession, appointment_id: str,
               done: Callable[[int], None], *, printer: QPrinter | None = None) -> None:
    printing.print_pdf(parent, _card(ctx, session, appointment_id),
                       parent.tr("appointment card"), done, printer=printer)


def save_card(parent: QWidget, ctx: Any, session: StaffSession, appointment_id: str,
              done: Callable[[Path], None], *, path: Path | None = None) -> None:
    printing.save_pdf(parent, _card(ctx, session, appointment_id), "appointment-card.pdf",
                      done, path=path, caption=parent.tr("Save the appointment card"))
