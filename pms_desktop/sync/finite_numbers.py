"""The push's last guard against a number FHIR cannot hold: NaN or an infinity.

FHIR JSON numbers are finite. orjson writes a non-finite float as ``null`` (``json`` as
``NaN``), and neither is a valid resource, so a change holding one must not leave: it is
refused with a reason a person can act on (the push quarantines it, ``engine._unsendable``).
The forms and services refuse such values where they are typed (``domain/vitals``,
``domain/money``, ``services/billing_fees``); this catches what got past them (an older
version's rows, a restored backup, a caller that skipped the form).

FHIR JSON has no ``null`` either (the mappers drop empty elements), so the walk that names
the field runs only when the written text holds more ``null`` than the value's own top level
(``canonical_json``'s envelope: a new record's ``base_version``, a deletion's ``resource``):
counting them costs ~2-3 us a body, the walk would cost about what writing the body does.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from ..domain.errors import UserError


class NonFiniteNumber(UserError):
    """A number that is NaN or infinite, at ``path`` (JSON keys and list positions)."""

    def __init__(self, path: str, shown: str) -> None:
        self.path = path
        super().__init__(
            f"This record holds a number that is not finite ({shown}) at {path or 'its top'}: "
            "FHIR numbers are finite, so the sync server cannot take it. Correct the value "
            "and save the record again; this change stays here, unsent.")


def top_nulls(value: Any) -> int:
    """How many ``null`` the value's own top level writes (its None values)."""
    if isinstance(value, dict):
        return list(value.values()).count(None)
    return int(value is None)


def check(value: Any, path: str = "") -> None:
    """Raise ``NonFiniteNumber`` for the first NaN or infinite float or Decimal in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            check(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for n, item in enumerate(value):
            check(item, f"{path}[{n}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise NonFiniteNumber(path, repr(value))
    elif isinstance(value, Decimal) and not value.is_finite():
        raise NonFiniteNumber(path, str(value))
