# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""An invoice line's quantity typed as "nan" or "inf" (Python's Decimal reads both as numbers)
is refused in words under the lines, and the totals are not recomputed from it (before: the
totals' Decimal arithmetic raised InvalidOperation in the editor's slot)."""

from __future__ import annotations

import pytest

from pms_desktop.domain.enums import Role
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.ui.billing.billing_screen import BillingScreen
from tests.unit.conftest_billing import fees  # noqa: F401


@pytest.mark.parametrize("typed", ["nan", "inf", "-Infinity"])
def test_a_quantity_that_is_not_a_number_is_refused_in_words(
        qtbot, fees, actors, make_patient, typed):  # type: ignore[no-untyped-def]  # noqa: F811
    manager = actors[Role.PRACTICE_MANAGER]
    pid = make_patient()
    draft = fees.billing.create_invoice(manager, patient_id=pid, lines=[LineInput(fee_code="ECG")])
    screen = BillingScreen(fees, manager, None)
    qtbot.addWidget(screen)
    editor = screen.open_invoice(draft.id)
    qtbot.waitUntil(lambda: editor.detail is not None, timeout=5000)
    totals = editor.totals.text()
    assert "€" in totals and editor.message.text() == ""

    editor.table.item(0, 2).setText(typed)

    # in words, with the line, as any other bad cell
    assert editor.message.text() == "Line 1: check the quantity, price and discount."
    assert editor.totals.text() == totals  # not recomputed from it
    editor.table.item(0, 2).setText("2")
    assert editor.message.text() == ""
    editor.close()
