"""What the app writes as money it reads back: the invoice editor shows an issued invoice's
prices as money ('1.234.000 CLP') and reads its totals back from those cells with
parse_amount, so every currency in every locale style must round-trip."""

from __future__ import annotations

import pytest

from pms_desktop.domain.money import _EXPONENTS, _LOCALE_STYLE, format_amount, parse_amount

CURRENCIES = sorted({"EUR", "GBP", "USD", *_EXPONENTS})
AMOUNTS = (0, 5, 600, 6_000, 123_456, 1_234_000, 98_765_432)


@pytest.mark.parametrize("locale", sorted(_LOCALE_STYLE))
@pytest.mark.parametrize("currency", CURRENCIES)
def test_a_formatted_amount_reads_back_as_itself(currency: str, locale: str) -> None:
    for minor in AMOUNTS:
        text = format_amount(minor, currency, locale)
        assert parse_amount(text, currency) == minor, text


@pytest.mark.parametrize(("typed", "currency", "minor"), [
    ("1.234", "JPY", 1234),  # no minor unit: the dot can only group thousands
    ("1.234.000", "CLP", 1_234_000),
    ("1.234.000", "EUR", 123_400_000),
    ("12.50", "EUR", 1250),  # one dot with a minor unit: the decimal point, as before
    ("1.234", "KWD", 1234),
])
def test_dots_group_thousands_only_where_they_cannot_be_the_decimal_point(
        typed: str, currency: str, minor: int) -> None:
    assert parse_amount(typed, currency) == minor


@pytest.mark.parametrize(("typed", "currency"), [("12.5", "JPY"), ("1.2.3", "EUR"),
                                                 ("1.234", "EUR")])
def test_an_amount_that_cannot_be_read_is_still_refused(typed: str, currency: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(typed, currency)
