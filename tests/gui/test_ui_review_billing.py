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


def test_an_issued_invoice_in_a_currency_without_cents_reads_back(  # noqa: F811
        qtbot, fees, actors, make_patient):
    # A Chilean clinic (CLP, es): the issued price reads '6.000 CLP', which the editor reads
    # back for its totals: it read 6 (the dot as a decimal point) and showed a net of 6 CLP;
    # '1.234.000 CLP' it marked unreadable.
    from sqlalchemy import update

    from pms_desktop.store.models.clinic import Clinic

    with fees.db.sessions()() as s, s.begin():
        s.execute(update(Clinic).values(currency="CLP", locale="es_CL"))
    draft = fees.billing.create_invoice(
        actors[M], patient_id=make_patient(), lines=[LineInput(fee_code="CONS-S")])
    fees.billing.issue_invoice(actors[M], invoice_id=draft.id)
    editor = _editor(qtbot, fees, actors[M], draft.id)
    _, _, _, price, _, _, net = _row(editor)
    assert price == net == "6.000\u00a0CLP"
    assert not editor.message.text()
    assert "Total 6.000\u00a0CLP" in editor.totals.text(), editor.totals.text()
