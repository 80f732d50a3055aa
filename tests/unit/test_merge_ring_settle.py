"""The rule by which settling a merge ring closes a phone, email or identifier conflict
(``merge_cycles._all_held``): only when the settled survivor holds every entry either side of
the conflict offered, compared by system, value and use (a merge copies a part under a new row
id and may change its rank); an entry it lacks keeps the conflict for a person."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import pytest

from pms_desktop.sync.merge_cycles import _all_held
from pms_desktop.sync.resources import ResourceMap

RMAP = cast(ResourceMap, SimpleNamespace(derived=frozenset()))
DIGITS = "https://clinic-pms.example/fhir/StructureDefinition/digits"
PHONE_DIGITS = "extension:https://clinic-pms.example/fhir/StructureDefinition/phone-digits"


def _phone(number: str, row: str, *, use: str = "mobile", rank: int = 1) -> dict[str, Any]:
    return {"id": row, "system": "phone", "value": number, "use": use, "rank": rank,
            "extension": [{"url": DIGITS, "valueString": number}]}


SURVIVOR = {"resourceType": "Patient", "id": "s",
            "telecom": [_phone("0861111111", "moved-1", rank=2), _phone("0870000000", "s-2"),
                        {"id": "s-3", "system": "email", "value": "ab@example.ie", "use": "home"}],
            "identifier": [{"id": "moved-4", "system": "urn:clinic:mrn", "value": "R-1"},
                           {"id": "s-5", "system": "urn:clinic:mrn", "value": "R-2"}]}


def _phones(*entries: dict[str, Any], digits: str | None = None) -> str:
    value: dict[str, Any] = {"telecom#phone": list(entries)}
    if digits is not None:
        value[PHONE_DIGITS] = {"valueString": digits}
    return json.dumps(value)


@pytest.mark.parametrize(("unit", "local", "remote", "closed"), [
    # every entry held, under other row ids and ranks: the settlement made it moot
    ("phone", _phones(_phone("0870000000", "x-1"), digits="0870000000"),
     _phones(_phone("0861111111", "x-2"), _phone("0870000000", "x-3")), True),
    ("identifier", json.dumps([{"id": "x", "system": "urn:clinic:mrn", "value": "R-2"}]),
     "null", True),
    ("email", "null", json.dumps([{"id": "email", "system": "email",
                                   "value": "ab@example.ie"}]), True),
    # one remote entry the survivor lacks: kept
    ("phone", _phones(_phone("0870000000", "x-1")),
     _phones(_phone("0861111111", "x-2"), _phone("0862222222", "x-3")), False),
    # one local entry the survivor lacks: kept
    ("phone", _phones(_phone("0869999999", "x-1")), _phones(_phone("0861111111", "x-2")), False),
    # the same number held under another use is not the number offered
    ("phone", "null", _phones(_phone("0861111111", "x-2", use="home")), False),
    ("email", "null", json.dumps([{"id": "x", "system": "email", "value": "ab@example.ie",
                                   "use": "work"}]), False),
    # an MRN the survivor lacks, and a number offered only as the search digits
    ("identifier", "null", json.dumps([{"id": "x", "system": "urn:clinic:mrn",
                                        "value": "R-3"}]), False),
    ("phone", json.dumps({PHONE_DIGITS: {"valueString": "0869999999"}}), "null", False),
], ids=["phones-held", "mrn-held", "email-held", "remote-phone-missing",
        "local-phone-missing", "phone-other-use", "email-other-use", "mrn-missing",
        "digits-missing"])
def test_a_ring_conflict_closes_only_when_the_survivor_holds_all_either_side_offered(
        unit: str, local: str, remote: str, closed: bool) -> None:
    assert _all_held(SURVIVOR, unit, RMAP, (local, remote)) is closed
