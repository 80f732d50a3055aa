"""The fee schedule: the default one shipped in resources, validation, and invoice line pricing.

``load_default_fee_schedule(session)`` needs no actor (first run, demo); it adds the shipped
items whose code is not there yet and queues them for sync. Nothing here checks permissions.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationError
from ..domain.money import LineAmounts, line_amounts, parse_amount
from ..store import outbox
from ..store.models import FeeItem, InvoiceLine
from .billing_dto import FeeItemInfo, LineInput
from .billing_queries import clinic_row

MAX_TAX_RATE = Decimal(1)


def fee_info(f: FeeItem) -> FeeItemInfo:
    return FeeItemInfo(f.id, f.code, f.description, f.price_minor, f.tax_rate, f.active)


def default_fee_rows(currency: str = "EUR") -> list[tuple[str, str, int, Decimal]]:
    """The shipped schedule as (code, description, price in minor units, tax rate)."""
    text = resources.files("pms_desktop.resources").joinpath("fee-schedule.csv").read_text("utf-8")
    rows = []
    for rec in csv.DictReader(io.StringIO(text)):
        rows.append(
            (
                rec["code"].strip(),
                rec["description"].strip(),
                parse_amount(rec["price"], currency),
                Decimal(rec["tax_rate"].strip()),
            )
        )
    return rows


def load_default_fee_schedule(session: Session, *, user_id: str | None = None) -> int:
    """Add the shipped fee items missing from this clinic; returns how many were added."""
    clinic = clinic_row(session)
    have = set(session.scalars(select(FeeItem.code)))
    added = 0
    for code, description, price, rate in default_fee_rows(clinic.currency):
        if code in have:
            continue
        item = FeeItem(
            clinic_id=clinic.id,
            code=code,
            description=description,
            price_minor=price,
            tax_rate=rate,
            active=True,
        )
        session.add(item)
        session.flush()
        outbox.record_change(session, item, user_id=user_id)
        added += 1
    return added


def check_fee_item(code: str, description: str, price_minor: int, tax_rate: Decimal) -> None:
    errors: dict[str, str] = {}
    if not code.strip() or len(code.strip()) > 20 or " " in code.strip():
        errors["code"] = "Enter a short code without spaces (up to 20 characters)."
    if not description.strip():
        errors["description"] = "Enter a description."
    if price_minor < 0:
        errors["price"] = "The price cannot be negative."
    if not tax_rate.is_finite() or not (Decimal(0) <= tax_rate <= MAX_TAX_RATE):
        errors["tax_rate"] = "The tax rate is a fraction between 0 and 1 (0.23 for 23%)."
    if errors:
        raise ValidationError(errors)


def fee_by_code(session: Session) -> dict[str, FeeItem]:
    return {f.code: f for f in session.scalars(select(FeeItem))}


def build_lines(
    session: Session, inputs: list[LineInput]
) -> list[tuple[LineInput, LineAmounts, FeeItem | None]]:
    """Price each typed line (filling gaps from the fee schedule); ValidationError per line."""
    fees = fee_by_code(session)
    errors: dict[str, str] = {}
    out = []
    for n, line in enumerate(inputs):
        fee = fees.get(line.fee_code) if line.fee_code else None
        if line.fee_code and fee is None:
            errors[f"lines[{n}].fee_code"] = f"No fee item has the code {line.fee_code}."
            continue
        price = (
            line.unit_price_minor
            if line.unit_price_minor is not None
            else (fee.price_minor if fee else None)
        )
        rate = line.tax_rate if line.tax_rate is not None else (fee.tax_rate if fee else Decimal(0))
        description = line.description.strip() or (fee.description if fee else "")
        if not description:
            errors[f"lines[{n}].description"] = "Enter a description."
        if price is None:
            errors[f"lines[{n}].unit_price"] = "Enter a price."
            continue
        try:
            quantity = Decimal(line.quantity)
            amounts = line_amounts(quantity, price, line.discount_minor, Decimal(rate))
        except (ValueError, InvalidOperation) as e:
            errors[f"lines[{n}]"] = f"Line {n + 1}: {e}."
            continue
        out.append(
            (
                LineInput(
                    description, quantity, price, line.discount_minor, Decimal(rate), line.fee_code
                ),
                amounts,
                fee,
            )
        )
    if errors:
        raise ValidationError(errors)
    return out


def line_rows(priced: list[tuple[LineInput, LineAmounts, FeeItem | None]]) -> list[InvoiceLine]:
    rows = []
    for pos, (li, a, fee) in enumerate(priced, start=1):
        rows.append(
            InvoiceLine(
                position=pos,
                fee_item_id=fee.id if fee else None,
                code=li.fee_code,
                description=li.description,
                quantity=li.quantity,
                unit_price_minor=a.gross_minor
                if li.unit_price_minor is None
                else li.unit_price_minor,
                discount_minor=a.discount_minor,
                tax_rate=li.tax_rate,
                net_minor=a.net_minor,
                tax_minor=a.tax_minor,
                total_minor=a.total_minor,
            )
        )
    return rows
