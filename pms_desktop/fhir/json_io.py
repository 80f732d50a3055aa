"""FHIR JSON text with exact decimals: Decimals are written as JSON numbers digit for digit,
and read back as Decimals (``loads``), so no amount ever passes through a float. FHIR numbers
are finite: a NaN or an infinity is refused both ways (``ValueError``), never written as
``NaN`` or read as a float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Compact JSON; keys keep the mapping's (deterministic) order."""
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts)


def _write(value: Any, out: Any) -> None:
    if isinstance(value, dict):
        out("{")
        for n, (k, v) in enumerate(value.items()):
            if n:
                out(",")
            out(json.dumps(str(k), ensure_ascii=False))
            out(":")
            _write(v, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for n, v in enumerate(value):
            if n:
                out(",")
            _write(v, out)
        out("]")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("FHIR decimals are finite")
        # "1E+2" is valid JSON but surprising: write plain notation, exponent kept exact.
        out(format(value, "f"))
    else:
        out(json.dumps(value, ensure_ascii=False, allow_nan=False))


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"FHIR numbers are finite: {name} is not one")
