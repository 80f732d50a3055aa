"""Exact money: integer minor units, Decimal tax rates and quantities, never float.

Prices are tax-exclusive. A line's net is ``round(quantity * unit price) - discount``; its tax is
``net * rate``. How tax is rounded is a clinic setting (``Clinic.tax_rounding``):

* ``"line"``: each line's tax is rounded half-up to the minor unit; the invoice's tax is the sum.
* ``"total"``: the exact (unrounded) line taxes are summed and rounded once; each line still
  shows its own rounded tax, so the lines may differ from the total by under half a cent each.

Formatting follows the clinic's currency and locale (symbol, separators, symbol position).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

TAX_ROUNDING_MODES = ("line", "total")

# ISO 4217 exponent where it is not 2.
_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}
_SYMBOLS = {
    "EUR": "€",
    "GBP": "£",
    "USD": "$",
    "JPY": "¥",
    "CHF": "CHF ",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "SEK": "kr ",
    "NOK": "kr ",
    "DKK": "kr ",
    "PLN": "zł ",
}
# language -> (decimal separator, thousands separator, symbol after the amount)
_LOCALE_STYLE = {
    "en": (".", ",", False),
    "ga": (".", ",", False),
    "ja": (".", ",", False),
    "de": (",", ".", True),
    "nl": (",", ".", False),
    "es": (",", ".", True),
    "it": (",", ".", True),
    "pt": (",", ".", True),
    "fr": (",", "\u202f", True),
    "sv": (",", "\u00a0", True),
    "nb": (",", "\u00a0", True),
    "da": (",", ".", True),
    "pl": (",", "\u00a0", True),
    "fi": (",", "\u00a0", True),
}


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def round_minor(value: Decimal) -> int:
    """Half-up to the nearest whole minor unit (commercial rounding)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal amount in major units (123 EUR cents -> 1.23)."""
    return (Decimal(minor) * _unit(currency)).quantize(_unit(currency))


def parse_amount(text: str, currency: str) -> int:
    """A typed amount ("12.50", "12,50", "€1,234.5") as minor units; ValueError if not valid."""
    cleaned = "".join(ch for ch in text.strip() if ch.isdigit() or ch in ".,-")
    if not cleaned or cleaned in {"-", ".", ","}:
        raise ValueError("not an amount")
    if "," in cleaned and "." in cleaned:
        # The right-most separator is the decimal one.
        dec = "." if cleaned.rfind(".") > cleaned.rfind(",") else ","
        cleaned = cleaned.replace("," if dec == "." else ".", "").replace(dec, ".")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = (
            cleaned.replace(",", "")
            if len(tail) == 3 and exponent(currency) != 3
            else head.replace(",", "") + "." + tail
        )
    elif "." in cleaned:
        # Dots alone group thousands where they cannot be a decimal point: more than one
        # ("1.234.000") or a currency with no minor unit ("123.400 ¥", as de/es write it).
        groups = cleaned.split(".")
        if (len(groups) > 2 or exponent(currency) == 0) and all(len(g) == 3 for g in groups[1:]):
            cleaned = cleaned.replace(".", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as e:
        raise ValueError("not an amount") from e
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError("more decimals than the currency has")
    return int(scaled)


def format_amount(minor: int, currency: str, locale: str = "en_GB", *, symbol: bool = True) -> str:
    """``format_amount(123456, "EUR", "en_IE") == "€1,234.56"``; de_DE gives ``1.234,56 €``."""
    dec_sep, thou_sep, after = _LOCALE_STYLE.get(locale.split("_")[0].lower(), (".", ",", False))
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    digits = f"{whole:,}".replace(",", thou_sep)
    number = digits + (dec_sep + str(frac).zfill(exp) if exp else "")
    if not symbol:
        return sign + number
    sym = _SYMBOLS.get(currency.upper(), currency.upper() + " ")
    if after:
        return f"{sign}{number}\u00a0{sym.strip()}"
    return f"{sign}{sym}{number}"


def format_rate(rate: Decimal) -> str:
    """0.135 -> "13.5%"; 0 -> "0%"."""
    pct = (rate * 100).normalize()
    text = f"{pct:f}"
    return f"{text}%"


@dataclass(frozen=True)
class LineAmounts:
    gross_minor: int  # quantity x unit price, rounded
    discount_minor: int
    net_minor: int
    tax_exact: Decimal  # before rounding
    tax_minor: int  # rounded half-up
    total_minor: int


def line_amounts(
    quantity: Decimal, unit_price_minor: int, discount_minor: int, tax_rate: Decimal
) -> LineAmounts:
    """Amounts of one invoice line. Raises ValueError on a negative, excessive or non-finite
    input (a NaN would otherwise compare as an error, an infinity fill a field FHIR refuses)."""
    if not Decimal(quantity).is_finite():
        raise ValueError("the quantity must be a number")
    if not Decimal(tax_rate).is_finite():
        raise ValueError("the tax rate must be a number")
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    if unit_price_minor < 0 or discount_minor < 0 or tax_rate < 0:
        raise ValueError("amounts and rates cannot be negative")
    gross = round_minor(Decimal(quantity) * unit_price_minor)
    if discount_minor > gross:
        raise ValueError("the discount is larger than the line")
    net = gross - discount_minor
    tax_exact = Decimal(net) * Decimal(tax_rate)
    tax = round_minor(tax_exact)
    return LineAmounts(gross, discount_minor, net, tax_exact, tax, net + tax)


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int  # sum of gross
    discount_minor: int
    net_minor: int
    tax_minor: int
    total_minor: int


def invoice_totals(lines: Iterable[LineAmounts], rounding: str = "line") -> Totals:
    """The invoice's totals under the clinic's tax rounding mode ("line" or "total")."""
    if rounding not in TAX_ROUNDING_MODES:
        raise ValueError(f"unknown tax rounding {rounding!r}")
    items = list(lines)
    gross = sum(x.gross_minor for x in items)
    discount = sum(x.discount_minor for x in items)
    net = sum(x.net_minor for x in items)
    if rounding == "line":
        tax = sum(x.tax_minor for x in items)
    else:
        tax = round_minor(sum((x.tax_exact for x in items), Decimal(0)))
    return Totals(gross, discount, net, tax, net + tax)


def split_tax(net_minor: int, total_net_minor: int, total_tax_minor: int) -> int:
    """Share of a tax amount proportional to a share of the net (for partial credits)."""
    if total_net_minor == 0:
        return 0
    return round_minor(Decimal(total_tax_minor) * net_minor / total_net_minor)
