"""The rule by which a ring's open phone (email, identifier) conflicts become one choice on the
survivor (``merge_cycles._one_choice``): one conflict per whole list the survivor lacks, whose
"local" is the list it holds and "remote" that list (row ids left for the survivor to make);
the others closed; nothing changed when a number they offer would then be offered nowhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from pms_desktop.store.models import SyncConflict
from pms_desktop.sync.merge import units_of
from pms_desktop.sync.merge_cycles import _one_choice
from pms_desktop.sync.resources import ResourceMap

RMAP = cast(ResourceMap, SimpleNamespace(derived=frozenset()))
DIGITS = "https://clinic-pms.example/fhir/StructureDefinition/digits"
PHONE_DIGITS = "extension:https://clinic-pms.example/fhir/StructureDefinition/phone-digits"
AT = datetime(2031, 3, 4, tzinfo=UTC)


def _phone(number: str, row: str) -> dict[str, Any]:
    return {"id": row, "system": "phone", "value": number, "use": "mobile", "rank": 1,
            "extension": [{"url": DIGITS, "valueString": number}]}


SURVIVOR = {"resourceType": "Patient", "id": "s",
            "telecom": [_phone("0862222222", "s-1"), _phone("0870000000", "s-2")]}
HELD = units_of(SURVIVOR, frozenset())["phone"]


def _list(*numbers: str) -> str:
    return json.dumps({PHONE_DIGITS: {"valueString": numbers[0]},
                       "telecom#phone": [_phone(n, f"row-{n}") for n in numbers]})


def _only_digits(number: str) -> str:  # a merged-away record's side: its phones moved
    return json.dumps({PHONE_DIGITS: {"valueString": number}})


def _conflict(n: int, record: str, local: str, remote: str) -> SyncConflict:
    return SyncConflict(id=f"c{n}", kind="field", resource_type="Patient", resource_id=record,
                        field="phone", local_value=local, remote_value=remote,
                        created_at=datetime(2031, 3, 3, 9, n, tzinfo=UTC))


def _decide(*conflicts: SyncConflict) -> bool:
    return _one_choice(SURVIVOR, "s", "phone", RMAP, list(conflicts), AT)


def test_the_two_sides_become_one_choice_between_whole_lists_on_the_survivor() -> None:
    on_survivor = _conflict(1, "s", _list("0862222222", "0870000000"),
                            _only_digits("0861111111"))
    on_merged = _conflict(2, "m", _only_digits("0870000000"),
                          _list("0870000000", "0861111111"))

    assert _decide(on_survivor, on_merged) is True

    assert (on_survivor.resource_id, on_survivor.kind, on_survivor.resolved_at) == ("s", "field",
                                                                                     None)
    assert json.loads(on_survivor.local_value or "") == HELD
    offered = json.loads(on_survivor.remote_value or "")
    assert [(e["value"], "id" in e) for e in offered["telecom#phone"]] == [
        ("0870000000", False), ("0861111111", False)]  # the survivor's rows get ids of their own
    assert (on_merged.resolved_at, on_merged.resolution) == (AT, "settled")


def test_each_list_the_survivor_lacks_is_offered() -> None:
    first = _conflict(1, "s", _list("0862222222", "0870000000"), _list("0861111111"))
    second = _conflict(2, "m", _list("0863333333"), _only_digits("0870000000"))

    assert _decide(first, second) is True

    assert [(c.resource_id, c.resolved_at) for c in (first, second)] == [("s", None), ("s", None)]
    remotes = {json.loads(c.remote_value or "")["telecom#phone"][0]["value"]
               for c in (first, second)}
    assert remotes == {"0861111111", "0863333333"}


def test_nothing_changes_when_a_number_would_be_offered_nowhere() -> None:
    # 0869999999 is offered only as search digits: no whole list holds it
    first = _conflict(1, "s", _list("0862222222", "0870000000"), _only_digits("0869999999"))
    second = _conflict(2, "m", _only_digits("0870000000"), _list("0870000000", "0861111111"))
    before = [(c.resource_id, c.local_value, c.remote_value) for c in (first, second)]

    assert _decide(first, second) is False

    assert [(c.resource_id, c.local_value, c.remote_value) for c in (first, second)] == before
    assert first.resolved_at is None and second.resolved_at is None


def test_nothing_changes_when_the_lists_outnumber_the_conflicts() -> None:
    # one conflict, both sides a whole list the survivor lacks: two lists and one question
    # would leave one list, and its number, offered nowhere
    only = _conflict(1, "s", _list("0861111111"), _list("0863333333"))
    before = (only.resource_id, only.local_value, only.remote_value)

    assert _decide(only) is False

    assert (only.resource_id, only.local_value, only.remote_value) == before
    assert only.resolved_at is None
