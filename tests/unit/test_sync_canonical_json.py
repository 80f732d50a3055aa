"""A pushed change's body: recorded once and resent byte for byte, so its text is whatever
``canonical_json`` first wrote; the server reads it as JSON. Written by orjson, it must still be
the compact, key-sorted JSON it was, with money digit for digit."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum

import pytest

from pms_desktop.sync.engine import canonical_json


class Kind(StrEnum):
    HOME = "home"


class Rank(IntEnum):
    FIRST = 1


def test_the_text_is_compact_sorted_json_with_exact_money() -> None:
    value = {"resourceType": "Invoice", "id": "inv-1", "b": [1.5, 0.1, -0.0, 1e300, 12.0, 3],
             "note": "Ó Súilleabháin \u2028 \"quoted\" \\ tab\t nl\n \x01 😀", "none": None,
             "kind": Kind.HOME, "rank": Rank.FIRST, "paid": True, "big": 2 ** 70,
             "totalNet": {"value": Decimal("1234.50"), "currency": "EUR"},
             "tiny": Decimal("-0.000001"), "nested": {"z": {"y": 1, "x": 2}, "10": 1, "9": 2}}

    text = canonical_json(value)

    plain = {**value, "totalNet": {"value": 0, "currency": "EUR"}, "tiny": 0}
    assert text.replace('"value":1234.50', '"value":0').replace('"tiny":-0.000001', '"tiny":0') \
        == json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(text, parse_float=Decimal)["totalNet"]["value"] == Decimal("1234.50")


@pytest.mark.parametrize("value", [{"when": date(2031, 3, 4)}, {"ids": {1, 2}}])
def test_what_is_not_json_is_refused(value: object) -> None:
    # (a NaN or an infinity: NonFiniteNumber, naming where; tests/unit/test_non_finite_numbers)
    with pytest.raises(TypeError):
        canonical_json(value)
