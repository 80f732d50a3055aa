"""Exact money: line amounts, tax rounding per line or per total, parsing and formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pms_desktop.domain.money import (
    format_amount,
    invoice_totals,
    line_amounts,
    parse_amount,
    round_minor,
)

rates = st.sampled_from(
    [
        Decimal(0),
        Decimal("0.09"),
        Decimal("0.135"),
        Decimal("0.23"),
        Decimal("0.2"),
        Decimal("0.055"),
    ]
)
lines = st.builds(
    lambda q, p, d, r: (q, p, min(d, round_minor(q * p)), r),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
    st.integers(min_value=0, max_value=10_000_000),
    st.integers(min_value=0, max_value=50_000),
    rates,
)


def test_half_cent_rounds_up_on_each_line():
    a = line_amounts(Decimal(1), 50, 0, Decimal("0.23"))  # 11.5 cents of tax
    assert (a.net_minor, a.tax_minor, a.total_minor) == (50, 12, 62)
    b = line_amounts(Decimal("0.5"), 3, 0, Decimal(0))  # 1.5 cents
    assert b.gross_minor == 2


def test_line_and_total_rounding_differ_where_they_should():
    items = [line_amounts(Decimal(1), 50, 0, Decimal("0.23")) for _ in range(3)]  # 3 x 11.5
    assert invoice_totals(items, "line").tax_minor == 36
    assert invoice_totals(items, "total").tax_minor == 35  # round(34.5)
    with pytest.raises(ValueError):
        invoice_totals(items, "banker")


def test_discount_larger_than_the_line_or_zero_quantity_is_refused():
    with pytest.raises(ValueError):
        line_amounts(Decimal(1), 100, 101, Decimal(0))
    with pytest.raises(ValueError):
        line_amounts(Decimal(0), 100, 0, Decimal(0))
    with pytest.raises(ValueError):
        line_amounts(Decimal(1), -1, 0, Decimal(0))


@given(st.lists(lines, min_size=1, max_size=12), st.sampled_from(["line", "total"]))
def test_totals_are_exact_and_consistent(items, mode):
    amounts = [line_amounts(*x) for x in items]
    t = invoice_totals(amounts, mode)
    exact_tax = sum(
        (Decimal(a.net_minor) * x[3] for a, x in zip(amounts, items, strict=True)), Decimal(0)
    )
    assert t.net_minor == t.subtotal_minor - t.discount_minor == sum(a.net_minor for a in amounts)
    assert t.total_minor == t.net_minor + t.tax_minor
    if mode == "total":
        assert abs(Decimal(t.tax_minor) - exact_tax) <= Decimal("0.5")
    else:
        assert abs(Decimal(t.tax_minor) - exact_tax) <= Decimal("0.5") * len(amounts)
        assert t.tax_minor == sum(a.tax_minor for a in amounts)
    for a, (q, p, d, _r) in zip(amounts, items, strict=True):
        assert abs(Decimal(a.gross_minor) - q * p) <= Decimal("0.5")
        assert a.net_minor == a.gross_minor - d >= 0


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_then_parse_round_trips(minor):
    for currency, locale in (
        ("EUR", "en_IE"),
        ("EUR", "de_DE"),
        ("GBP", "en_GB"),
        ("JPY", "ja_JP"),
    ):
        assert parse_amount(format_amount(minor, currency, locale), currency) == minor


def test_formatting_follows_currency_and_locale():
    assert format_amount(123456, "EUR", "en_IE") == "€1,234.56"
    assert format_amount(123456, "EUR", "de_DE") == "1.234,56\u00a0€"
    assert format_amount(-5, "GBP", "en_GB") == "-£0.05"
    assert format_amount(1234, "JPY", "ja_JP") == "¥1,234"
    assert format_amount(1234, "EUR", "en_IE", symbol=False) == "12.34"


def test_parse_refuses_nonsense_and_extra_decimals():
    assert parse_amount("12,50", "EUR") == 1250
    assert parse_amount("1,250", "EUR") == 125000
    for bad in ("", "abc", "1.234", "-"):
        with pytest.raises(ValueError):
            parse_amount(bad, "EUR")
