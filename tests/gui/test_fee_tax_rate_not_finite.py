# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""A fee item's tax rate typed as "nan" or "inf" (Python's Decimal reads both as numbers) is
refused in the words the form asks in (a percentage), not the service's fraction wording, and
nothing is saved; what was typed stays."""

from __future__ import annotations

import pytest

from pms_desktop.domain.enums import Role
from pms_desktop.ui.billing.billing_screen import BillingScreen
from pms_desktop.ui.ops import wait_for_idle
from tests.unit.conftest_billing import fees  # noqa: F401


@pytest.mark.parametrize("typed", ["nan", "inf", "-Infinity%"])
def test_a_tax_rate_that_is_not_a_number_is_refused_as_a_percentage(
        qtbot, fees, actors, typed):  # type: ignore[no-untyped-def]  # noqa: F811
    manager = actors[Role.PRACTICE_MANAGER]
    screen = BillingScreen(fees, manager, None)
    qtbot.addWidget(screen)
    editor = screen.fees
    before = len(fees.billing.list_fee_items(manager, include_inactive=True))
    editor.code.setText("NAN1")
    editor.description.setText("Test item")
    editor.price.setText("10.00")
    editor.tax.setText(typed)
    editor._save()
    wait_for_idle()
    qtbot.wait(50)
    assert editor.errors.text() == "Enter the tax rate as a percentage, like 23."
    assert editor.tax.text() == typed
    assert len(fees.billing.list_fee_items(manager, include_inactive=True)) == before
