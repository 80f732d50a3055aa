"""Map a workstation audit entry to a FHIR R4 ``AuditEvent``.

The workstation's fields are read tolerantly (``at``/``time``/``timestamp`` for the moment,
``user``/``actor`` for the person, ``action``, ``patient_id`` or ``entity_type``+``entity_id``
for the record, ``break_glass``); the whole entry, hash included, is kept verbatim in
``entity.detail`` (type ``pms-chain-entry``) so that the event can always be checked against
the chain.
"""

from __future__ import annotations

import functools
from typing import Any

from sync_server.audit.chain import canonical
from sync_server.fhir.dates import date_range
from sync_server.fhir.validate import ID_PATTERN, is_resource_type

_ACTIONS = {"c": "C", "r": "R", "u": "U", "d": "D", "e": "E"}
_ACTION_WORDS = {"create": "C", "add": "C", "register": "C", "book": "C", "read": "R",
                 "view": "R", "open": "R", "search": "R", "export": "R", "print": "R",
                 "update": "U", "edit": "U", "sign": "U", "amend": "U", "cancel": "U",
                 "void": "U", "delete": "D", "remove": "D"}


def _first(entry: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if entry.get(key) not in (None, ""):
            return entry[key]
    return None


def _recorded(entry: dict[str, Any], received: str) -> str:
    value = _first(entry, "at", "time", "timestamp", "recorded", "occurred_at")
    return (_instant(value) if isinstance(value, str) else None) or received


# An upload's entries share few moments and actions (a pulled page's ``sync.apply`` entries
# have one of each): each is worked out once.
@functools.lru_cache(maxsize=1024)
def _instant(value: str) -> str | None:
    bounds = date_range(value)
    return bounds[0] if bounds else None


def _action(entry: dict[str, Any]) -> str:
    word = _first(entry, "action", "event", "kind")
    return _action_code(word if isinstance(word, str) else str(word or ""))


@functools.lru_cache(maxsize=1024)
def _action_code(text: str) -> str:
    word = text.strip().lower()
    if word in _ACTIONS:
        return _ACTIONS[word]
    for prefix, code in _ACTION_WORDS.items():
        if word.startswith(prefix):
            return code
    return "E"


def _entities(entry: dict[str, Any]) -> list[dict[str, Any]]:
    refs = []
    patient = _first(entry, "patient_id", "patient")
    if isinstance(patient, str) and ID_PATTERN.match(patient):
        refs.append(f"Patient/{patient}")
    rtype, rid = _first(entry, "entity_type", "resource_type"), _first(entry, "entity_id",
                                                                       "resource_id")
    if isinstance(rtype, str) and isinstance(rid, str) and is_resource_type(rtype) \
            and ID_PATTERN.match(rid) and f"{rtype}/{rid}" not in refs:
        refs.append(f"{rtype}/{rid}")
    return [{"what": {"reference": ref}} for ref in refs]


def to_audit_event(entry: dict[str, Any], device_id: str, received: str, *,
                   verbatim: str | None = None) -> dict[str, Any]:
    """The event of one entry; ``verbatim`` is the entry's canonical text when the caller has
    it already."""
    who = _first(entry, "user", "actor", "username", "staff", "user_id")
    role = _first(entry, "role")
    agent: dict[str, Any] = {"requestor": True,
                             "who": {"display": str(who)[:200] if who is not None else "unknown"}}
    if role is not None:
        agent["role"] = [{"text": str(role)[:100]}]
    entities = _entities(entry)
    text = verbatim if verbatim is not None else canonical(entry)
    entities.append({"what": {"display": f"workstation audit seq {entry['seq']}"},
                     "detail": [{"type": "pms-chain-entry", "valueString": text}]})
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                 "code": "rest", "display": "RESTful Operation"},
        "action": _action(entry),
        "recorded": _recorded(entry, received),
        "outcome": "0",
        "agent": [agent],
        "source": {"observer": {"reference": f"Device/{device_id}"}},
        "entity": entities,
    }
    if entry.get("break_glass"):
        event["purposeOfEvent"] = [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "BTG",
            "display": "break the glass"}]}]
    return event
