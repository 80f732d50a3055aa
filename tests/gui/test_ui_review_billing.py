# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""The invoice editor as the practice manager reads an issued invoice: its prices and discounts
are written as money, as the net and the totals beside them are; a draft's stay plain numbers
to type over."""

from __future__ import annotations

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.ui.billing.billing_screen import BillingScreen
from tests.unit.conftest_billing import fees  # noqa: F401

M = Role.PRACTICE_MANAGER


def _editor(qtbot, fees, actor, invoice_id):  # type: ignore[no-untyped-def]
    screen = BillingScreen(fees, actor, None)
    qtbot.addWidget(screen)
    editor = screen.open_invoice(invoice_id)
    qtbot.waitUntil(lambda: editor.detail is not None, timeout=5000)
    return editor


def _row(editor) -> list[str]:  # type: ignore[no-untyped-def]
    return [editor.table.item(0, c).text() for c in range(editor.table.columnCount())]


def test_an_issued_invoices_prices_read_as_money(qtbot, fees, actors, make_patient):  # noqa: F811
    draft = fees.billing.create_invoice(
        actors[M], patient_id=make_patient(),
        lines=[LineInput(fee_code="CONS-S", discount_minor=500)])
    editor = _editor(qtbot, fees, actors[M], draft.id)
    code, _, qty, price, discount, _, net = _row(editor)
    assert (code, qty, price, discount) == ("CONS-S", "1", "60.00", "5.00")  # to type over
    assert net == "€55.00"
    editor.close()
    fees.billing.issue_invoice(actors[M], invoice_id=draft.id)
    editor = _editor(qtbot, fees, actors[M], draft.id)
    _, _, _, price, discount, _, net = _row(editor)
    assert (price, discount, net) == ("€60.00", "€5.00", "€55.00")
    assert "Total €55.00" in editor.totals.text()  # still read back as amounts
    assert not editor.message.text()
