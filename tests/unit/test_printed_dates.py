"""Printed documents write a day as the screens do: the month in words, no leading zero.

A 4th of January is used throughout, so that the old '04/01/2001' or '04 January' shows.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from pms_desktop.documents.access_report import (
    COLUMNS,
    AccessReport,
    AccessReportRow,
    access_report_pdf,
)
from pms_desktop.documents.appointment_card import AppointmentCard, appointment_card_pdf
from pms_desktop.documents.day_list import DayListDocument, day_list_pdf
from pms_desktop.documents.letterhead import Letterhead, fonts

HEAD = Letterhead(name="Harbour Clinic", address="1 Quay St\nCork")
BORN = date(2001, 1, 4)
MONDAY = date(2027, 1, 4)


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _day_list(patient_name: str, born: date) -> DayListDocument:
    """Monday 4 January 2027's list, printed at 08:05, with one patient booked at 09:00."""
    row = SimpleNamespace(
        practitioner_id="p1", patient_name=patient_name, patient_birth_date=born,
        patient_phone="087 123 4567", type_name="Consultation", status="booked", note="",
        cancel_reason="", start_at=datetime(2027, 1, 4, 9, 0, tzinfo=UTC),
        end_at=datetime(2027, 1, 4, 9, 15, tzinfo=UTC))
    return DayListDocument(head=HEAD, day=MONDAY, timezone="Europe/Dublin",
                           practitioners=(("p1", "Dr Kelly"),), appointments=(row,),
                           printed_at=datetime(2027, 1, 4, 8, 5))


def test_the_day_list_writes_the_day_and_the_dates_of_birth_in_words() -> None:
    pdf = day_list_pdf(_day_list("Aoife Byrne", BORN))
    text = text_of(pdf)
    assert "Monday 4 January 2027 · 1 appointment" in text
    assert "4 Jan 2001" in text  # the patient's date of birth
    assert "Day list 4 Jan 2027" in text and "printed 4 Jan 2027 08:05" in text  # the footer
    assert "04/01" not in text and "04 " not in text
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Day list 4 Jan 2027"


def test_the_appointment_card_writes_the_day_in_full_without_a_leading_zero() -> None:
    card = AppointmentCard(head=HEAD, patient_name="Aoife Byrne", practitioner_name="Dr Kelly",
                           start_local=datetime(2027, 1, 4, 9, 5), minutes=15,
                           type_name="Consultation")
    text = text_of(appointment_card_pdf(card))
    assert "Monday 4 January 2027" in text and "at 09:05 (15 minutes)" in text
    assert "04 January" not in text


def test_the_access_report_writes_its_days_as_the_screens_do() -> None:
    row = AccessReportRow(at=datetime(2027, 1, 4, 9, 5), username="rita", role="reception",
                          action="break_glass.grant", outcome="success", break_glass=True,
                          reason="Collapsed at the front desk")
    report = AccessReport(head=HEAD, patient_name="Aoife Byrne", birth_date=BORN, rows=(row,),
                          generated_at=datetime(2027, 1, 5, 10, 30, tzinfo=UTC))
    text = text_of(access_report_pdf(report))
    assert "(born 4 Jan 2001)" in text
    assert "4 Jan 2027 09:05" in text  # the row's time
    assert "Produced 5 Jan 2027 10:30 UTC." in text
    assert "04 Jan" not in text and "05 Jan" not in text


def test_the_day_list_has_room_for_the_widest_date_of_birth() -> None:
    """'28 May 1948' ends before the phone number starts (they ran into each other)."""
    doc = _day_list("Séamus Ó Briain", date(1948, 5, 28))
    drawn: dict[str, tuple[float, float]] = {}  # text: (x where it starts, font size)

    def visit(text: str, cm: Any, tm: Any, _font: Any, size: float) -> None:
        drawn[text.strip()] = (cm[4] + tm[4], size)

    PdfReader(io.BytesIO(day_list_pdf(doc))).pages[0].extract_text(visitor_text=visit)
    born_x, size = drawn["28 May 1948"]
    regular, _bold = fonts()
    assert born_x + stringWidth("28 May 1948", regular, size) < drawn["087 123 4567"][0] - 2


def test_the_access_reports_headings_each_fit_their_column() -> None:
    """'Outcome' wrapped as 'Outcom' over 'e' in its 18 mm column."""
    _regular, bold = fonts()
    padding = 2 * 6  # ReportLab's default left and right padding of a cell, in points
    for heading, width in COLUMNS:
        if width is not None:
            assert stringWidth(heading, bold, 8.5) + padding <= width * mm, heading
