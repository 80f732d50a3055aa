"""Access-log entries <-> FHIR ``AuditEvent``, one to one.

Every field of the local entry travels: the standard elements carry what FHIR can say (time,
C/R/U/D/E action, outcome, the user, the workstation as observer, the patient and record as
entities, break-glass as purpose ``BTG``) and ``audit-*`` extensions carry each field exactly
(``seq``, ``hash``, ``prev_hash`` included), so the server can rebuild the entry with
``entry_from_audit_event`` and check the hash chain.
"""

from __future__ import annotations

from typing import Any

from .common import EXT, Json, bad, clean, get_ext, validate

EVENT_TYPE = {
    "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "code": "rest",
    "display": "RESTful Operation",
}
BTG = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "BTG",
            "display": "break the glass",
        }
    ]
}
OUTCOME = {"success": "0", "refused": "4", "failure": "8"}
_VERBS = (
    ("create", "C"),
    ("add", "C"),
    ("register", "C"),
    ("book", "C"),
    ("record", "C"),
    ("read", "R"),
    ("view", "R"),
    ("open", "R"),
    ("search", "R"),
    ("list", "R"),
    ("export", "R"),
    ("print", "R"),
    ("update", "U"),
    ("edit", "U"),
    ("sign", "U"),
    ("amend", "U"),
    ("cancel", "U"),
    ("void", "U"),
    ("merge", "U"),
    ("delete", "D"),
    ("remove", "D"),
)
# (entry key, extension name, FHIR value type)
FIELDS = (
    ("seq", "audit-seq", "Integer"),
    ("at", "audit-at", "String"),
    ("workstation_id", "audit-workstation", "String"),
    ("user_id", "audit-user-id", "String"),
    ("username", "audit-username", "String"),
    ("role", "audit-role", "String"),
    ("action", "audit-action", "String"),
    ("resource_type", "audit-resource-type", "String"),
    ("resource_id", "audit-resource-id", "String"),
    ("patient_id", "audit-patient-id", "String"),
    ("outcome", "audit-outcome", "String"),
    ("break_glass", "audit-break-glass", "Boolean"),
    ("reason", "audit-reason", "String"),
    ("detail", "audit-detail", "String"),
    ("prev_hash", "audit-prev-hash", "String"),
    ("hash", "audit-hash", "String"),
)


def _verb(action: str) -> str:
    last = action.rsplit(".", 1)[-1].lower()
    for word, code in _VERBS:
        if last.startswith(word):
            return code
    return "E"


def audit_event_for(entry: dict[str, Any]) -> Json:
    """The AuditEvent of one entry dict (as ``store.audit_log.entry_dict`` makes it)."""
    for key in ("id", "seq", "at", "workstation_id", "action", "outcome", "prev_hash", "hash"):
        if entry.get(key) in (None, ""):
            raise bad(key, "an access-log entry needs this field")
    extensions = [
        {"url": EXT + name, f"value{kind}": entry[key]}
        for key, name, kind in FIELDS
        if entry.get(key) is not None
    ]
    who = clean(
        {
            "reference": f"Basic/{entry['user_id']}" if entry.get("user_id") else None,
            "display": entry.get("username") or "system",
        }
    )
    entities = []
    if entry.get("patient_id"):
        entities.append({"what": {"reference": f"Patient/{entry['patient_id']}"}})
    if entry.get("resource_type") and entry.get("resource_id"):
        entities.append({"what": {"reference": f"{entry['resource_type']}/{entry['resource_id']}"}})
    elif entry.get("resource_type"):
        entities.append({"name": entry["resource_type"]})
    event = clean(
        {
            "resourceType": "AuditEvent",
            "id": entry["id"],
            "extension": extensions,
            "type": EVENT_TYPE,
            "action": _verb(str(entry["action"])),
            "recorded": entry["at"],
            "outcome": OUTCOME.get(str(entry["outcome"]), "8"),
            "outcomeDesc": entry.get("reason") if entry["outcome"] != "success" else None,
            "purposeOfEvent": [BTG] if entry.get("break_glass") else None,
            "agent": [
                clean(
                    {
                        "role": [{"text": entry["role"]}] if entry.get("role") else None,
                        "who": who,
                        "requestor": True,
                    }
                )
            ],
            "source": {
                "site": "clinic-pms workstation",
                "observer": {"reference": f"Device/{entry['workstation_id']}"},
            },
            "entity": entities,
        }
    )
    return validate(event)


def entry_from_audit_event(event: Json) -> dict[str, Any]:
    """The exact entry back from an AuditEvent written by ``audit_event_for``."""
    if event.get("resourceType") != "AuditEvent":
        raise bad("resourceType", "an AuditEvent is required")
    entry: dict[str, Any] = {"id": event.get("id")}
    for key, name, _kind in FIELDS:
        entry[key] = get_ext(event, name)
    entry["break_glass"] = bool(entry["break_glass"])
    order = ["seq", "id", *(k for k, _, _ in FIELDS if k != "seq")]
    return {k: entry[k] for k in order}
