"""Print… on every screen that prints: the appointment book (day list, appointment card), the
chart's letters, the reports screen and the access report.

The system's print dialog is replaced by a PDF-format printer (``printing.choose_printer``), so
what would go to paper lands in a file: it must have the document's pages, each the document
itself (compared with the service's own PDF, rendered), and cancelling the dialog prints nothing.
The printer runs at 100 dpi to keep the tests quick; the dialog path is the same at any dpi.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat
from pypdf import PdfReader
from PySide6.QtCore import QSettings
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QFileDialog

from pms_desktop.domain.enums import Role
from pms_desktop.ui.admin.audit_tab import AuditTab
from pms_desktop.ui.chart.letters_tab import LettersTab
from pms_desktop.ui.reports.reports_screen import ReportsScreen
from pms_desktop.ui.schedule.appointment_book import AppointmentBook
from pms_desktop.ui.widgets import printing

WAIT = 15_000
DUBLIN = ZoneInfo("Europe/Dublin")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path) -> None:
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "settings"))


class Dialog:
    """Stands in for the print dialog: OK with a PDF-file printer, or Cancel."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
        self.out, self.titles, self.cancel = out, [], False
        monkeypatch.setattr(printing, "choose_printer", self.choose)

    def choose(self, parent: Any, title: str) -> QPrinter | None:
        self.titles.append(title)
        if self.cancel:
            return None
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setResolution(100)
        printer.setOutputFileName(str(self.out))
        return printer


def _render(page: Any, size: tuple[int, int]) -> Image.Image:
    image = page.render(scale=size[0] / page.get_width()).to_pil().convert("L")
    return image.resize(size)


def assert_printed(out: Path, original: bytes, *, max_diff: float = 2.0) -> list[Image.Image]:
    """``out`` holds ``original``'s pages, each painted as the original looks; returns them."""
    printed = PdfReader(str(out))
    source = pdfium.PdfDocument(original)
    assert len(printed.pages) == len(source) >= 1
    pages = []
    for number, page in enumerate(printed.pages):
        images = page.images
        assert len(images) == 1, f"page {number + 1}: one picture of the page"
        picture = images[0].image.convert("L")
        expected = _render(source[number], picture.size)
        # the same document: little difference beyond the printed-at minute and resampling
        diff = ImageStat.Stat(ImageChops.difference(picture, expected)).mean[0]
        assert diff < max_diff, f"page {number + 1} differs from the document ({diff:.1f})"
        assert picture.getextrema()[0] < 100  # dark ink on it, not a blank page
        pages.append(picture)
    return pages


def assert_cancel_prints_nothing(qtbot: Any, dialog: Dialog, start: Any) -> None:
    dialog.out.unlink(missing_ok=True)
    dialog.cancel, asked = True, len(dialog.titles)
    start()
    qtbot.wait(150)
    assert len(dialog.titles) == asked + 1 and not dialog.out.exists()
    dialog.cancel = False


def _next_weekday() -> date:
    d = date.today() + timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


@pytest.fixture
def booked(ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    rita = actors[Role.RECEPTION]
    day = _next_weekday()
    prac = ctx.scheduling.practitioners(rita)[0].id
    ids = []
    for hour, (given, family) in zip((9, 10, 11), (("Mary", "Murphy"), ("Séamus", "Ó Briain"),
                                                  ("Aoife", "Byrne")), strict=True):
        pid = make_patient(given, family)
        start = datetime.combine(day, datetime.min.time(), tzinfo=DUBLIN).replace(hour=hour)
        ids.append(ctx.scheduling.book(rita, patient_id=pid, practitioner_id=prac,
                                       start_at=start).id)
    return rita, day, ids


def test_appointment_book_prints_the_day_list_and_a_card(qtbot, ctx, booked, monkeypatch,
                                                         tmp_path):  # type: ignore[no-untyped-def]
    rita, day, ids = booked
    book = AppointmentBook(ctx, rita, None)
    qtbot.addWidget(book)
    book.resize(1100, 700)
    book.show()
    qtbot.waitSignal(book.view_loaded, timeout=WAIT).wait()
    with qtbot.waitSignal(book.view_loaded, timeout=WAIT):
        book.set_date(day)
    dialog = Dialog(monkeypatch, tmp_path / "printed.pdf")
    actions = {a.text(): a for a in book.print_menu.actions()}

    with qtbot.waitSignal(book.action_done, timeout=WAIT) as done:
        actions["Print day list…"].trigger()
    assert "printer" in done.args[0]
    assert dialog.titles[-1].endswith(f"day list {day.day} {day:%b %Y}")
    assert_printed(dialog.out, ctx.scheduling.day_list_pdf(rita, day=day))
    assert_cancel_prints_nothing(qtbot, dialog, actions["Print day list…"].trigger)

    book.grid.select_appointment(ids[1])
    with qtbot.waitSignal(book.action_done, timeout=WAIT):
        actions["Print appointment card…"].trigger()
    card = ctx.scheduling.appointment_card_pdf(rita, appointment_id=ids[1])
    assert "Séamus Ó Briain" in PdfReader(io.BytesIO(card)).pages[0].extract_text()
    assert_printed(dialog.out, card)
    # an A6 card prints at its own size on the (A4) paper, not blown up to fill the sheet
    sheet = pdfium.PdfDocument(str(dialog.out))[0].render(scale=0.5).to_pil().convert("L")
    ink = ImageOps.invert(sheet).point(lambda v: 255 if v > 40 else 0).getbbox()
    assert ink is not None and ink[2] < 0.72 * sheet.width and ink[3] < 0.36 * sheet.height
    assert_cancel_prints_nothing(qtbot, dialog, actions["Print appointment card…"].trigger)


def test_letter_prints_after_the_missing_fields_are_filled(qtbot, ctx, actors, make_patient,
                                                           monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    doc = actors[Role.CLINICIAN]
    pid = make_patient(given="Mary", family="Murphy")
    tab = LettersTab(ctx, doc, pid, True)
    qtbot.addWidget(tab)
    tab.show()
    dialog = Dialog(monkeypatch, tmp_path / "letter.pdf")
    tab.kind_box.setCurrentIndex(1)  # medical certificate
    tab.inputs["condition"].setText("Influenza")
    tab.inputs["unfit_from"].setText("01/12/2025")
    tab.print_button.click()  # "up to and including" is missing
    qtbot.waitUntil(lambda: "Complete the marked" in tab.status.text(), timeout=WAIT)
    assert "#b3261e" in tab.inputs["unfit_to"].styleSheet() and not dialog.out.exists()
    assert tab.inputs["condition"].text() == "Influenza" and tab.print_button.isEnabled()

    tab.inputs["unfit_to"].setText("05/12/2025")
    tab.print_button.click()
    qtbot.waitUntil(lambda: "printer" in tab.status.text(), timeout=WAIT)
    values = tab.values()
    original = ctx.clinical.letter_pdf(doc, patient_id=pid, kind="certificate", fields=values)
    assert "Influenza" in PdfReader(io.BytesIO(original)).pages[0].extract_text()
    assert_printed(dialog.out, original)
    assert_cancel_prints_nothing(qtbot, dialog, tab.print_button.click)


def test_reports_screen_prints_and_saves_the_report(qtbot, ctx, actors, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    manager = actors[Role.PRACTICE_MANAGER]
    messages: list[str] = []
    window = type("Window", (), {"show_status": staticmethod(messages.append)})()
    screen = ReportsScreen(ctx, manager, window)
    qtbot.addWidget(screen)
    screen.resize(1000, 600)
    screen.show()
    assert not screen.print_button.isEnabled()  # nothing to print before a report is shown
    screen.kind.setCurrentIndex(screen.kind.findData("day-sheet"))
    screen.run_button.click()
    qtbot.waitUntil(lambda: screen.report is not None, timeout=WAIT)
    dialog = Dialog(monkeypatch, tmp_path / "report.pdf")
    screen.print_button.click()
    qtbot.waitUntil(lambda: "Report sent to the printer." in messages, timeout=WAIT)
    assert dialog.titles[-1].endswith(screen.report.title)
    assert_printed(dialog.out, ctx.reports.export_pdf(manager, report=screen.report))
    assert_cancel_prints_nothing(qtbot, dialog, screen.print_button.click)

    target = tmp_path / "saved"  # the extension is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PDF"))
    screen.pdf_button.click()
    qtbot.waitUntil(lambda: any("saved" in m for m in messages), timeout=WAIT)
    text = PdfReader(str(tmp_path / "saved.pdf")).pages[0].extract_text()
    assert screen.report.title in text and "Riverside Test Clinic" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial


def test_access_report_prints(qtbot, ctx, actors, make_patient, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    admin, rita = actors[Role.CLINIC_ADMIN], actors[Role.RECEPTION]
    patient = make_patient(given="Aoife", family="Byrne")
    ctx.accounts.break_glass(rita, patient_id=patient, reason="Collapsed at the front desk")
    messages: list[str] = []
    tab = AuditTab(ctx, admin, messages.append)
    qtbot.addWidget(tab)
    tab.show()
    dialog = Dialog(monkeypatch, tmp_path / "access.pdf")
    print_action = tab.report_button.menu().actions()[0]
    print_action.trigger()  # no patient in the filter yet: asks for one, prints nothing
    assert "patient" in messages[-1] and dialog.titles == []
    tab.patient.setText(patient)
    print_action.trigger()
    qtbot.waitUntil(lambda: "Access report sent to the printer." in messages, timeout=WAIT)
    original = ctx.audit.access_report_pdf(admin, patient_id=patient)
    text = PdfReader(io.BytesIO(original)).pages[0].extract_text()
    assert "Aoife Byrne" in text and "Collapsed at the front desk" in text
    # the report printed before this one lacks its own "produced" line: compare loosely
    assert_printed(dialog.out, original, max_diff=4.0)
    assert_cancel_prints_nothing(qtbot, dialog, print_action.trigger)
