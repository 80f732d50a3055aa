# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""A refused save in the fee schedule editor and the invoice editor marks the refused field or
cell (as the other forms do: the ``invalid`` property style.qss draws; in the lines table, the
same colours on the cell), keeps everything typed, and the mark clears once it is corrected.
Before, both editors showed the refusal text only."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLineEdit, QPushButton

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.ui.billing.billing_screen import BillingScreen
from pms_desktop.ui.billing.fee_schedule_editor import FeeScheduleEditor
from pms_desktop.ui.billing.invoice_editor import InvoiceEditor
from pms_desktop.ui.theme import STYLESHEET
from tests.unit.conftest_billing import fees  # noqa: F401

M = Role.PRACTICE_MANAGER
REFUSED_TINT = QColor("#fff7f6")  # style.qss: [invalid="true"] background


SHOTS = Path(tempfile.gettempdir()) / "pms-screenshots"  # as the other GUI tests: to look at


def _shot(widget: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    widget.grab().save(str(SHOTS / f"billing-{name}.png"))


def _fee_editor(qtbot: Any, ctx: Any, actors: Any) -> FeeScheduleEditor:
    screen = BillingScreen(ctx, actors[M], None)
    qtbot.addWidget(screen)
    screen.setStyleSheet(STYLESHEET.read_text())
    screen.resize(1000, 560)
    screen.show()
    editor = screen.fees
    screen.tabs.setCurrentWidget(editor)
    qtbot.waitUntil(lambda: editor.model.rowCount() > 0, timeout=10000)
    return editor


def _type(qtbot: Any, edit: QLineEdit, text: str) -> None:
    """Replace the field's text as a person does: select all, type."""
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def _marked(edit: QLineEdit) -> bool:
    return bool(edit.property("invalid"))


def _save_item(qtbot: Any, editor: FeeScheduleEditor) -> None:
    button = next(b for b in editor.findChildren(QPushButton) if b.text() == "Save item")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_fee_item_refused_by_the_form_marks_the_field_and_keeps_the_text(
        qtbot, fees, actors):  # type: ignore[no-untyped-def]  # noqa: F811
    editor = _fee_editor(qtbot, fees, actors)
    count = len(fees.billing.list_fee_items(actors[M], include_inactive=True))
    typed = {editor.code: "XRAY2", editor.description: "Second view",
             editor.price: "sixty", editor.tax: "23"}
    for edit, text in typed.items():
        _type(qtbot, edit, text)

    _save_item(qtbot, editor)

    assert editor.errors.text() == "Enter the price, like 60.00."
    assert [e for e in typed if _marked(e)] == [editor.price]
    assert {e: e.text() for e in typed} == typed
    _shot(editor, "fee_refused_price")

    _type(qtbot, editor.price, "60.00")  # corrected: the mark goes
    assert not _marked(editor.price)
    _save_item(qtbot, editor)
    qtbot.waitUntil(lambda: len(fees.billing.list_fee_items(
        actors[M], include_inactive=True)) == count + 1, timeout=10000)


def test_fee_item_refused_by_the_service_marks_its_fields(
        qtbot, fees, actors):  # type: ignore[no-untyped-def]  # noqa: F811
    editor = _fee_editor(qtbot, fees, actors)
    count = len(fees.billing.list_fee_items(actors[M], include_inactive=True))
    typed = {editor.code: "X RAY", editor.description: "   ",
             editor.price: "60.00", editor.tax: "150"}
    for edit, text in typed.items():
        _type(qtbot, edit, text)

    _save_item(qtbot, editor)
    qtbot.waitUntil(lambda: editor.errors.text() != "", timeout=10000)

    assert [e for e in typed if _marked(e)] == [editor.code, editor.description, editor.tax]
    assert "Enter a short code without spaces" in editor.errors.text()
    assert "Enter a description." in editor.errors.text()
    # the form asks for a percentage: the service's "fraction" wording is not shown
    assert "percentage from 0 to 100" in editor.errors.text()
    assert "fraction" not in editor.errors.text()
    assert {e: e.text() for e in typed} == typed
    assert len(fees.billing.list_fee_items(actors[M], include_inactive=True)) == count
    _shot(editor, "fee_refused_service")

    _type(qtbot, editor.code, "XRAY3")  # each correction clears its own mark only
    assert [e for e in typed if _marked(e)] == [editor.description, editor.tax]
    _type(qtbot, editor.description, "Third view")
    _type(qtbot, editor.tax, "23")
    assert not any(_marked(e) for e in typed)


def _invoice_editor(qtbot: Any, ctx: Any, actors: Any, make_patient: Any) -> InvoiceEditor:
    draft = ctx.billing.create_invoice(
        actors[M], patient_id=make_patient(),
        lines=[LineInput(fee_code="ECG"),
               LineInput(description="Dressing", unit_price_minor=1250, tax_rate=Decimal(0))])
    screen = BillingScreen(ctx, actors[M], None)
    qtbot.addWidget(screen)
    editor = screen.open_invoice(draft.id)
    editor.setStyleSheet(STYLESHEET.read_text())
    qtbot.waitUntil(lambda: editor.detail is not None, timeout=10000)
    return editor


def _tinted(editor: InvoiceEditor) -> list[tuple[int, int]]:
    """The cells drawn as refused (what a person sees), each with its reason as tooltip."""
    out = []
    for r in range(editor.table.rowCount()):
        for c in range(editor.table.columnCount()):
            item = editor.table.item(r, c)
            if item.background().color() == REFUSED_TINT:
                assert item.toolTip()
                out.append((r, c))
    return out


def _texts(editor: InvoiceEditor) -> list[list[str]]:
    t = editor.table
    return [[t.item(r, c).text() for c in range(5)] for r in range(t.rowCount())]


def test_invoice_line_refused_in_the_editor_marks_its_cell(
        qtbot, fees, actors, make_patient):  # type: ignore[no-untyped-def]  # noqa: F811
    editor = _invoice_editor(qtbot, fees, actors, make_patient)
    invoice = editor.invoice_id
    before = fees.billing.get_invoice(actors[M], invoice_id=invoice).lines
    assert _tinted(editor) == []
    editor.table.item(0, 2).setText("3")
    editor.table.item(1, 4).setText("five")  # a discount that is not an amount

    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)

    assert editor.message.text() == "Line 2: check the quantity, price and discount."
    assert _tinted(editor) == [(1, 4)]
    assert _texts(editor)[0][2] == "3" and _texts(editor)[1][4] == "five"
    assert fees.billing.get_invoice(actors[M], invoice_id=invoice).lines == before
    editor.resize(860, 360)
    _shot(editor, "invoice_refused_cell")

    editor.table.item(1, 4).setText("99.00")  # readable, but larger than the line
    assert _tinted(editor) == [(1, 4)]
    assert editor.message.text() == "Line 2: the discount is larger than the line."
    editor.table.item(1, 4).setText("2.50")  # corrected
    assert _tinted(editor) == [] and editor.message.text() == ""
    editor.close()


def test_invoice_line_refused_by_the_service_marks_its_cell_until_edited(
        qtbot, fees, actors, make_patient):  # type: ignore[no-untyped-def]  # noqa: F811
    editor = _invoice_editor(qtbot, fees, actors, make_patient)
    invoice = editor.invoice_id
    editor.table.item(0, 2).setText("2")
    editor.table.item(1, 1).setText("")  # no fee item to fill the description in from
    typed = _texts(editor)

    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.message.text() != "", timeout=10000)

    assert editor.message.text() == "Enter a description."
    assert _tinted(editor) == [(1, 1)]
    assert _texts(editor) == typed
    saved = fees.billing.get_invoice(actors[M], invoice_id=invoice).lines
    assert [x.description for x in saved] != ["", ""] and saved[0].quantity == 1
    editor.resize(860, 360)
    _shot(editor, "invoice_refused_service")

    editor.table.item(0, 3).setText("40.00")  # another cell: the mark and its reason stay
    assert _tinted(editor) == [(1, 1)] and editor.message.text() == "Enter a description."
    editor.table.item(1, 1).setText("Dressing, large")  # corrected
    assert _tinted(editor) == [] and editor.message.text() == ""
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [x.description for x in fees.billing.get_invoice(
        actors[M], invoice_id=invoice).lines][1:] == ["Dressing, large"], timeout=10000)
    editor.close()
