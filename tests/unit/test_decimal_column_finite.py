"""The decimal column type (``DecimalText``) refuses a NaN or an infinity itself: whatever
skipped the services' checks (which mark the field, see test_non_finite_numbers) cannot store
one, the error says why, and nothing is written. A value stored by an older version still reads
back, so that the push's guard can name it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import exc, select, text

from pms_desktop.store.models import Clinic, FeeItem
from pms_desktop.store.models.base import NonFiniteDecimal

NOT_FINITE: list[Any] = [Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN"), "Infinity",
                         "nan"]


def _rates(ctx: Any) -> dict[str, Decimal]:
    with ctx.db.sessions()() as s:
        return {code: rate for code, rate in s.execute(select(FeeItem.code, FeeItem.tax_rate))}


@pytest.mark.parametrize("raw", NOT_FINITE, ids=repr)
def test_a_new_row_with_a_number_that_is_not_finite_is_refused(ctx, raw) -> None:  # type: ignore[no-untyped-def]
    before = _rates(ctx)
    with pytest.raises(exc.StatementError) as refused, ctx.db.sessions()() as s, s.begin():
        clinic = s.scalars(select(Clinic.id)).one()
        s.add(FeeItem(clinic_id=clinic, code="NAN-1", description="Bad rate", price_minor=100,
                      tax_rate=raw))
    assert isinstance(refused.value.orig, NonFiniteDecimal)
    assert "finite numbers only" in str(refused.value)
    assert _rates(ctx) == before


def test_an_edit_to_a_number_that_is_not_finite_is_refused(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        clinic = s.scalars(select(Clinic.id)).one()
        s.add(FeeItem(clinic_id=clinic, code="OK-1", description="Fine", price_minor=100,
                      tax_rate=Decimal("0.23")))
    with pytest.raises(exc.StatementError), ctx.db.sessions()() as s, s.begin():
        item = s.scalars(select(FeeItem).where(FeeItem.code == "OK-1")).one()
        item.tax_rate = Decimal("Infinity")
    assert _rates(ctx)["OK-1"] == Decimal("0.23")


def test_a_value_an_older_version_stored_still_reads(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s, s.begin():
        clinic = s.scalars(select(Clinic.id)).one()
        s.add(FeeItem(clinic_id=clinic, code="OLD-1", description="Old", price_minor=100,
                      tax_rate=Decimal(0)))
        s.flush()
        s.execute(text("UPDATE fee_item SET tax_rate = 'NaN' WHERE code = 'OLD-1'"))
    assert _rates(ctx)["OLD-1"].is_nan()
